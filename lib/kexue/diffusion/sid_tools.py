"""Helpers of the sid chapter: a fake denoiser initialised at the teacher, a two-part
mode test (shape and weights), the gradient flow of the Gaussian toy, an exact 1-D
mixture teacher and a batched SiD trainer for it.

``TeacherInitFake`` is ``eps_psi(x, t) = eps_teacher(x, t) + r(x, t)`` with a residual
network ``r`` whose last layer starts at zero, the analogue for an analytic teacher of
SiD's ``fake_score = copy.deepcopy(true_score)``. ``mode_test`` compares the fraction of
samples within two standard deviations of their nearest mode centre with its exact value
under the mixture (``chi2.cdf(4, D)``), with a binomial standard error. ``toy_flow``
integrates a gradient field of the toy's generator parameters ``(mu, log s)``.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from scipy.stats import chi2
from tqdm.auto import tqdm

from .._validate import (
    as_tensor,
    check_bool,
    check_callable,
    check_choice,
    check_generator,
    check_int,
    check_positive,
    check_real,
)
from ..device import get_device
from ..nn import TimeMLP

__all__ = [
    "TeacherInitFake",
    "mode_test",
    "mode_test_controls",
    "keeps_every_mode",
    "uniform_ring",
    "toy_flow",
    "mixture_eps_1d",
    "EnsembleMLP",
    "sid_ensemble",
]


class TeacherInitFake(torch.nn.Module):
    """``eps_psi(x, t) = teacher(x, t) + TimeMLP(x, t)``; the residual's last layer is
    zero.

    x (B, dim), t (B,) -> (B, dim). The teacher is not trained (it is not a submodule;
    only the residual's parameters are), so at initialisation the fake denoiser equals
    the teacher, as in SiD's training loop (sid chapter, eq. sid-fake).
    """

    def __init__(self, teacher, dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        check_callable(teacher, "teacher")
        dim, hidden = (
            check_int(dim, "dim", min_value=1),
            check_int(hidden, "hidden", min_value=1),
        )
        depth = check_int(depth, "depth", min_value=1)
        # kept in a list: a teacher Module must not become a trainable submodule
        self._teacher = [teacher]
        self.residual = TimeMLP(dim=dim, hidden=hidden, depth=depth)
        last = self.residual.net[-1]
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # the teacher is constant in psi, but its value depends on x, through which the
        # generator step sends theta's gradient
        return self._teacher[0](x, t) + self.residual(x, t)


def uniform_ring(
    n: int, radius: float, width: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` points (n, 2) with uniform angle and radius ``radius + width * N(0, 1)``:
    the featureless annulus a mode metric must reject (sid chapter).
    """
    n = check_int(n, "n", min_value=1)
    radius, width = check_positive(radius, "radius"), check_positive(width, "width")
    check_generator(generator)
    u = torch.rand(n, generator=generator, dtype=torch.float64) * 2 * math.pi
    r = radius + width * torch.randn(n, generator=generator, dtype=torch.float64)
    return torch.stack([r * torch.cos(u), r * torch.sin(u)], 1)


def mode_test(samples, centers, std: float, k: float = 4.0) -> dict:
    """Does a sample look like the equal-weight isotropic mixture with these ``centers``
    (K, D) and ``std``? Two parts, both must hold (sid chapter, the mode test).

    *Shape:* ``core`` is the fraction of the N samples within ``2 std`` of their nearest
    centre; under the mixture (modes well separated) it is ``p = chi2.cdf(4, D)`` (0.865
    in 2-D, 0.954 in 1-D) with binomial standard error ``se = sqrt(p (1 - p) / N)``;
    ``core_pass`` is ``|core - p| <= k se``. A uniform smear through the centres
    fails. *Weights:* ``counts`` (K,) are the samples nearest each centre; under the
    mixture each is binomial ``(N, 1/K)``, so ``counts_pass`` is ``|n_j - N/K| <= k
    sqrt(N (1/K)(1 - 1/K))`` for every ``j``. All samples in one mode, or in half of
    them, fail. ``tv`` is the total variation between ``counts / N`` and uniform.
    ``passes`` is both parts.

    Two descriptive statistics, not part of ``passes``: ``width`` is the robust
    within-mode standard deviation ``1.4826 median |x - nearest centre|`` (over all
    coordinates; ``std`` for the mixture), and ``far`` is the fraction farther than
    ``2.5 std`` from every centre, ``far_expected = chi2.sf(6.25, D)`` under the
    mixture (0.0124 in 1-D). Narrow modes plus mass between them can pass both parts of
    the test (the ``"narrow + between"`` control of :func:`mode_test_controls`); these
    two numbers show it.
    """
    x = as_tensor(samples, "samples", finite=True).detach().cpu().double()
    c = as_tensor(centers, "centers", finite=True).detach().cpu().double()
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1] or len(x) < 2:
        raise ValueError(
            "samples (N, D) with N >= 2 and centers (K, D) must share D, got "
            f"{tuple(x.shape)} and {tuple(c.shape)}"
        )
    std, k = check_positive(std, "std"), check_positive(k, "k")
    N, D = x.shape
    K = c.shape[0]
    dist = torch.cdist(x, c)
    near = dist.argmin(1)
    core = dist.min(1).values <= 2 * std
    p = float(chi2.cdf(4.0, D))
    se = math.sqrt(p * (1 - p) / N)
    frac = float(core.double().mean())
    counts = torch.bincount(near, minlength=K).tolist()
    se_n = math.sqrt(N * (1 / K) * (1 - 1 / K))
    counts_pass = all(abs(n_j - N / K) <= k * se_n for n_j in counts)
    tv = 0.5 * sum(abs(n_j / N - 1 / K) for n_j in counts)
    core_pass = abs(frac - p) <= k * se
    resid = (x - c[near]).abs()
    far = float((dist.min(1).values > 2.5 * std).double().mean())
    return {
        "core": frac,
        "expected": p,
        "se": se,
        "core_pass": core_pass,
        "counts": counts,
        "count_se": se_n,
        "counts_pass": counts_pass,
        "tv": tv,
        "passes": core_pass and counts_pass,
        "width": 1.4826 * float(resid.median()),
        "far": far,
        "far_expected": float(chi2.sf(6.25, D)),
    }


def mode_test_controls(
    means, std: float, n: int, generator: torch.Generator | None = None
) -> dict:
    """Samples (n,) to validate :func:`mode_test` on the 1-D mixture of equal Gaussians
    at ``means`` (K >= 2, sorted) with ``std`` (sid chapter, the controls).

    ``"data"``: a fresh draw of the mixture. ``"uniform smear"``: uniform on ``[min -
    2 std, max + 2 std]``, featureless. ``"all in one mode"``: the first mode only.
    ``"weights 0.7 / 0.3"``: the first two modes with those weights. ``"narrow +
    between"``: the modes at half the width, plus 4.6 % of the mass uniform on the
    middle half between the first two centres; the impostor that passes the test.
    """
    m = as_tensor(means, "means", finite=True).detach().cpu().double().reshape(-1)
    if m.numel() < 2 or not bool(torch.all(m[1:] > m[:-1])):
        raise ValueError(f"means must hold K >= 2 increasing centres, got {m.tolist()}")
    std, n = check_positive(std, "std"), check_int(n, "n", min_value=1)
    check_generator(generator)

    def u():
        return torch.rand(n, generator=generator, dtype=torch.float64)

    def normal():
        return torch.randn(n, generator=generator, dtype=torch.float64)

    pick = m[torch.randint(0, len(m), (n,), generator=generator)]
    lo, hi = float(m[0]) - 2 * std, float(m[-1]) + 2 * std
    one = m[0] + std * normal()
    gap = float(m[1] - m[0])
    narrow = (
        m[torch.randint(0, len(m), (n,), generator=generator)] + 0.5 * std * normal()
    )
    between = m[0] + gap / 4 + gap / 2 * u()
    return {
        "data": pick + std * normal(),
        "uniform smear": lo + (hi - lo) * u(),
        "all in one mode": one,
        "weights 0.7 / 0.3": torch.where(u() < 0.7, one, one + gap),
        "narrow + between": torch.where(u() < 0.954, narrow, between),
    }


def keeps_every_mode(result: dict, core_floor: float, k: float = 4.0) -> bool:
    """Does a :func:`mode_test` ``result`` keep every mode (sid chapter)?

    Two conditions. Every mode holds more than half its share ``1/K``, by ``k``
    binomial standard errors of that half share (a run that lost a mode fails). And the
    shape fraction ``core`` exceeds ``core_floor``, a value chosen before the run (the
    chapter takes halfway between a featureless smear's and the mixture's), so that a
    smear, which has mass near every centre, fails too.
    """
    if not isinstance(result, dict) or "counts" not in result or "core" not in result:
        raise TypeError("result must be a dict returned by mode_test")
    core_floor = check_real(core_floor, "core_floor", low=0.0, high=1.0)
    k = check_positive(k, "k")
    counts = result["counts"]
    n, half = sum(counts), 0.5 / len(counts)
    share_floor = half + k * math.sqrt(half * (1 - half) / n)
    return min(counts) / n > share_floor and result["core"] > core_floor


def toy_flow(field, start, *, steps: int = 400, lr: float = 0.05, log_s_min=-6.0):
    """Euler steps of ``(mu, log s) <- (mu, log s) - lr * (g_mu, s g_s)`` from
    ``start``.

    ``field(mu, s)`` returns the gradient ``(g_mu, g_s)`` of a loss of the toy generator
    ``g(z) = mu + s z`` (sid chapter, Try it); the step in ``log s`` uses ``d/dlog s = s
    d/ds``, and ``log s`` is floored at ``log_s_min`` (a student that collapses stops
    there). Returns the path, an array (steps + 1, 2) of ``(mu, s)``.
    """
    check_callable(field, "field")
    steps, lr = check_int(steps, "steps", min_value=1), check_positive(lr, "lr")
    log_s_min = check_real(log_s_min, "log_s_min")
    if not isinstance(start, (tuple, list)) or len(start) != 2:
        raise TypeError(f"start must be a pair (mu, log s), got {start!r}")
    m, ls = (check_real(v, "start") for v in start)
    path = [(m, math.exp(ls))]
    for _ in range(steps):
        gm, gs = field(m, math.exp(ls))
        m, ls = m - lr * gm, max(ls - lr * gs * math.exp(ls), float(log_s_min))
        path.append((m, math.exp(ls)))
    return np.array(path)


def mixture_eps_1d(means, std: float, sched):
    """The exact noise predictor of the 1-D mixture ``(1/K) sum_k N(means[k], std^2)``.

    Returns ``eps(x, t)``: x (B, 1), t (B,) -> (B, 1), ``-noise(t) * score_t(x)`` with
    ``score_t`` the score of the noised law (sid chapter, the 1-D teacher). A cheap
    special case of ``GaussianMixture.eps_model``, which the tests compare it with.
    """
    m = as_tensor(means, "means", finite=True).reshape(-1)
    if m.numel() < 1:
        raise ValueError("means must hold at least one centre")
    std = check_positive(std, "std")
    if not hasattr(sched, "signal") or not hasattr(sched, "noise"):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = sched.signal(t).to(x)[..., None]
        b = sched.noise(t).to(x)[..., None]
        v = a**2 * std**2 + b**2
        d = x - a * m.to(x)  # (B, K)
        r = torch.softmax(-(d**2) / (2 * v), dim=-1)
        return b * (r * d).sum(-1, keepdim=True) / v

    return eps


class EnsembleMLP(torch.nn.Module):
    """``E`` independent MLPs evaluated at once: (E, B, d_in) -> (E, B, d_out).

    Layers ``d_in -> hidden -> hidden -> d_out`` with SiLU; member ``e`` has its own
    weights, initialised like ``torch.nn.Linear`` from ``torch.Generator`` seeded by
    ``seeds[e]``; the last layer is zero, so every member starts as the zero map (sid
    chapter: both networks start at the teacher).
    """

    def __init__(self, seeds, d_in: int, d_out: int, hidden: int = 32):
        super().__init__()
        if not isinstance(seeds, (list, tuple)) or not seeds:
            raise TypeError(f"seeds must be a non-empty list of ints, got {seeds!r}")
        seeds = [check_int(s_, "seeds", min_value=0) for s_ in seeds]
        d_in, d_out = (
            check_int(d_in, "d_in", min_value=1),
            check_int(d_out, "d_out", min_value=1),
        )
        hidden = check_int(hidden, "hidden", min_value=1)
        sizes = [(d_in, hidden), (hidden, hidden), (hidden, d_out)]
        self.weights, self.biases = torch.nn.ParameterList(), torch.nn.ParameterList()
        for j, (i, o) in enumerate(sizes):
            w, b_ = torch.zeros(len(seeds), i, o), torch.zeros(len(seeds), 1, o)
            if j < len(sizes) - 1:
                for e, s_ in enumerate(seeds):
                    g = torch.Generator().manual_seed(1000 * s_ + j)
                    bound = 1 / math.sqrt(i)
                    w[e] = (torch.rand(i, o, generator=g) * 2 - 1) * bound
                    b_[e] = (torch.rand(1, o, generator=g) * 2 - 1) * bound
            self.weights.append(torch.nn.Parameter(w.double()))
            self.biases.append(torch.nn.Parameter(b_.double()))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n = len(self.weights)
        for j, (w, b_) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b_, h, w)
            if j < n - 1:
                h = torch.nn.functional.silu(h)
        return h


def _time_features(t: torch.Tensor) -> torch.Tensor:
    k = torch.arange(1, 4, dtype=t.dtype, device=t.device)
    ang = math.pi * t[..., None] * k
    return torch.cat([t[..., None], ang.sin(), ang.cos()], -1)


def _as_device(device) -> torch.device:
    if device is None:
        return get_device()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"device must be None, a str or a torch.device, got {type(device).__name__}"
        )
    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError) as err:
        raise ValueError(f"device: not a torch device: {device!r}") from err


def sid_ensemble(
    teacher,
    sched,
    coefs,
    seeds,
    *,
    iters: int = 400,
    batch: int = 256,
    fake_steps: int = 2,
    lr: float = 3e-3,
    t_range=(0.05, 0.6),
    t_init: float = 0.5,
    hidden: int = 32,
    n_snapshot: int = 2000,
    snapshot_at=(),
    fake_init: str = "teacher",
    fake_pretrain: int = 0,
    device=None,
    progress: bool = False,
) -> dict:
    """Run ``E = len(coefs)`` SiD distillations of a 1-D ``teacher`` at once (sid
    chapter).

    Member ``e`` minimises ``c1 L1 + c2 L2`` with ``(c1, c2) = coefs[e]``: ``(1, 0)`` is
    the initial form (eq. sid-l1), ``(0, 1)`` is L2 (eq. sid-l2), ``(-lam, 1)`` is SiD's
    loss (eq. sid-final). Its generator is ``g(z) = x0_hat_teacher(z, t_init) +
    MLP(z)`` and its fake ``eps_psi(x, t) = teacher(x, t) + MLP(x, t)``, both residuals
    zero at the start (as ``distill.TeacherInitGenerator`` and ``TeacherInitFake``),
    initialised from ``seeds[e]``. ``fake_init="plain"`` drops the teacher from the fake
    (``eps_psi = MLP``, zero at the start), and ``fake_pretrain`` fake steps on the
    initial generator run first (sid chapter, Exercise 3). Each iteration takes
    ``fake_steps`` denoising steps of every fake on its generator's detached samples
    (eq. sid-fake) and one generator step, ``t ~ U(t_range)``; Adam, betas (0, 0.99),
    learning rate ``lr`` decaying linearly to 0 over the run. Members share nothing but
    the calls and one noise stream: every draw comes from one CPU generator seeded by
    ``seeds[0]``, each member taking its own slice, so the other seeds set only the
    initial weights. Draws are made on the CPU and moved to ``device`` (default
    ``kexue.device.get_device()``), so a run gives the same numbers on every device up
    to float64 round-off. ``progress`` shows a tqdm bar (one summary line in the book).

    ``teacher(x, t)``: x (..., 1), t (...) -> (..., 1), on the device of ``x``. Returns
    ``{"snapshots": {it: samples (E, n_snapshot) on the CPU}}`` at iteration 0, every
    ``snapshot_at`` and ``iters``.
    """
    check_callable(teacher, "teacher")
    if not hasattr(sched, "signal") or not hasattr(sched, "noise"):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")
    if not isinstance(coefs, (list, tuple)) or not coefs:
        raise TypeError(f"coefs must be a non-empty list of pairs, got {coefs!r}")
    cf = torch.tensor([[check_real(v, "coefs") for v in c_] for c_ in coefs])
    if cf.shape != (len(coefs), 2):
        raise ValueError(f"coefs must be pairs (c1, c2), got {coefs!r}")
    if not isinstance(seeds, (list, tuple)) or len(seeds) != len(coefs):
        raise ValueError(f"seeds must be a list as long as coefs, got {seeds!r}")
    iters, batch = (
        check_int(iters, "iters", min_value=1),
        check_int(batch, "batch", min_value=1),
    )
    fake_steps = check_int(fake_steps, "fake_steps", min_value=1)
    lr, n_snapshot = (
        check_positive(lr, "lr"),
        check_int(n_snapshot, "n_snapshot", min_value=1),
    )
    lo, hi = (check_real(v, "t_range") for v in t_range)
    if not 0 < lo < hi <= 1:
        raise ValueError(f"t_range must satisfy 0 < lo < hi <= 1, got {t_range}")
    t_init = check_real(t_init, "t_init", low=0.0, high=1.0, low_open=True)
    fake_init = check_choice(fake_init, "fake_init", ("teacher", "plain"))
    fake_pretrain = check_int(fake_pretrain, "fake_pretrain", min_value=0)
    dev = _as_device(device)
    check_bool(progress, "progress")
    E = len(coefs)
    c1, c2 = (cf[:, j].double().to(dev) for j in (0, 1))
    gnet = EnsembleMLP(list(seeds), 1, 1, hidden).to(dev)
    fnet = EnsembleMLP([s_ + 500 for s_ in seeds], 8, 1, hidden).to(dev)
    a0, b0 = float(sched.signal(t_init)), float(sched.noise(t_init))
    use_teacher = fake_init == "teacher"

    def generator(z):
        t0 = torch.full(z.shape[:-1], t_init, dtype=z.dtype, device=z.device)
        x0_hat = (z - b0 * teacher(z, t0)) / a0
        return x0_hat + gnet(z)

    def fake(x, t):
        r = fnet(torch.cat([x, _time_features(t)], -1))
        return teacher(x, t) + r if use_teacher else r

    gen = torch.Generator().manual_seed(int(seeds[0]))

    def draw(*shape):  # CPU stream, moved: the same numbers on every device
        return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dev)

    def noised(x0):
        t = lo + (hi - lo) * torch.rand(E, batch, generator=gen, dtype=torch.float64)
        eps = draw(E, batch, 1)
        a, b = (f(t)[..., None].to(dev) for f in (sched.signal, sched.noise))
        return a * x0 + b * eps, t.to(dev), eps

    opt_g = torch.optim.Adam(gnet.parameters(), lr=lr, betas=(0.0, 0.99))
    opt_f = torch.optim.Adam(fnet.parameters(), lr=lr, betas=(0.0, 0.99))
    decay = [
        torch.optim.lr_scheduler.LambdaLR(o, lambda i: 1 - i / iters)
        for o in (opt_g, opt_f)
    ]
    z_fixed = torch.randn(
        E,
        n_snapshot,
        1,
        generator=torch.Generator().manual_seed(1),
        dtype=torch.float64,
    ).to(dev)

    def fake_step():
        with torch.no_grad():
            x_t, t, eps = noised(generator(draw(E, batch, 1)))
        loss_f = ((fake(x_t, t) - eps) ** 2).mean(1).sum()
        opt_f.zero_grad(set_to_none=True)
        loss_f.backward()
        opt_f.step()

    for _ in range(fake_pretrain):
        fake_step()
    marks = {0, iters, *(int(i) for i in snapshot_at)}
    out = {"snapshots": {}}
    book = os.environ.get("KEXUE_BOOK_BUILD") == "1"  # as distill.sid_distill
    bar = tqdm(
        range(iters + 1),
        disable=not progress or book,
        desc="SiD ensemble",
        mininterval=0.5,
    )
    for it in bar:
        if it in marks:
            with torch.no_grad():
                out["snapshots"][it] = generator(z_fixed)[..., 0].cpu().clone()
        if it == iters:
            break
        for _ in range(fake_steps):
            fake_step()
        fnet.requires_grad_(False)
        x_t, t, eps = noised(generator(draw(E, batch, 1)))
        e_phi, e_psi = teacher(x_t, t), fake(x_t, t)
        l1 = ((e_phi - e_psi) ** 2).sum(-1).mean(1)  # (E,) after the mean over B
        l2 = ((e_phi - e_psi) * (e_phi - eps)).sum(-1).mean(1)
        loss = (c1 * l1 + c2 * l2).sum()
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        fnet.requires_grad_(True)
        for d in decay:
            d.step()
    if progress and book:
        print(f"SiD ensemble: {E} runs, {iters} iterations")
    return out
