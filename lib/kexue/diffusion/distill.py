"""Score identity Distillation (SiD): a one-step generator from a diffusion teacher (sid
chapter).

Notation of the chapter (Su's): teacher ``eps_phi``, fake (student-side) denoiser
``eps_psi``, generator ``g_theta(z)``; ``x_t = signal(t) g(z) + noise(t) eps``. The
generator losses, all averaged over z, t, eps (sid chapter, eqs. sid-l1, sid-l2,
sid-l3)::

    L1 = E || eps_phi(x_t) - eps_psi(x_t) ||^2
    L2 = E < eps_phi(x_t) - eps_psi(x_t), eps_phi(x_t) - eps >
    L3 = E [ || eps_phi(x_t) - eps ||^2 + || eps_psi(x_t) ||^2 ]          (= L1 +
    dimension, at the fake optimum)

Gradients reach theta through the *inputs* x_t of both networks; their parameters are
never updated by these losses (the trainer switches their ``requires_grad`` off during
the generator step).
"""

from __future__ import annotations

import os

import torch
from tqdm.auto import tqdm

from .._validate import (
    check_bool,
    check_callable,
    check_generator,
    check_int,
    check_positive,
    check_tensor,
)
from ._core import check_model_output, expand_time, x0_from_eps
from .continuous import NoiseSchedule
from .losses import dsm_loss

__all__ = [
    "FORMS",
    "sid_generator_loss",
    "fake_dsm_loss",
    "TeacherInitGenerator",
    "sid_distill",
]

FORMS = ("L1", "L2", "L2-lam*L1", "L3")


def _check_range(sched, t_range):
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")
    if not isinstance(t_range, tuple | list) or len(t_range) != 2:
        raise TypeError(f"t_range must be a pair (lo, hi), got {t_range!r}")
    lo, hi = (check_positive(v, "t_range[k]", allow_zero=True) for v in t_range)
    if not (sched.t_min <= lo < hi <= sched.t_max):
        raise ValueError(
            f"t_range must satisfy t_min <= lo < hi <= t_max = [{sched.t_min:g}, "
            f"{sched.t_max:g}], got {t_range}"
        )
    return lo, hi


def _times(sched: NoiseSchedule, n: int, t_range, generator):
    lo, hi = _check_range(sched, t_range)
    if not (sched.t_min <= lo < hi <= sched.t_max):
        raise ValueError(
            f"t_range must satisfy t_min <= lo < hi <= t_max = [{sched.t_min:g}, "
            f"{sched.t_max:g}], got {t_range}"
        )
    return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)


def fake_dsm_loss(
    fake,
    x_g: torch.Tensor,
    sched: NoiseSchedule,
    *,
    t_range=(0.05, 0.8),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Denoising score matching of the fake network on *detached* generator samples (eq.
    sid-fake)."""
    check_callable(fake, "fake")
    check_tensor(x_g, "x_g", ndim=2)
    check_generator(generator)
    t = _times(sched, x_g.shape[0], t_range, generator)
    return dsm_loss(fake, x_g.detach(), sched, t=t, generator=generator)


def sid_generator_loss(
    teacher,
    fake,
    x_g: torch.Tensor,
    sched: NoiseSchedule,
    *,
    form: str = "L2-lam*L1",
    lam: float = 1.2,
    t_range=(0.05, 0.8),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The generator's loss on samples ``x_g`` (B, D) that carry gradients to theta;
    ``form`` one of :data:`FORMS`.

    ``"L2-lam*L1"`` is SiD's final loss ``L2 - lam L1`` (the paper's alpha; eq.
    sid-final).
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")
    check_callable(teacher, "teacher")
    check_callable(fake, "fake")
    check_tensor(x_g, "x_g", ndim=2)
    check_generator(generator)
    check_positive(lam, "lam", allow_zero=True)
    t = _times(sched, x_g.shape[0], t_range, generator)
    eps = torch.randn(x_g.shape, generator=generator, dtype=torch.float64).to(x_g)
    x_t = (
        expand_time(sched.signal(t), x_g) * x_g + expand_time(sched.noise(t), x_g) * eps
    )
    tt = t.to(x_g)
    e_phi = check_model_output(teacher(x_t, tt), x_g, "teacher")
    e_psi = check_model_output(fake(x_t, tt), x_g, "fake")
    l1 = ((e_phi - e_psi) ** 2).sum(1).mean()
    if form == "L1":
        return l1
    if form == "L3":
        return (((e_phi - eps) ** 2).sum(1) + (e_psi**2).sum(1)).mean()
    l2 = ((e_phi - e_psi) * (e_phi - eps)).sum(1).mean()
    return l2 if form == "L2" else l2 - lam * l1


class TeacherInitGenerator(torch.nn.Module):
    """``g(z) = x0_hat_teacher(z, t_init) + MLP(z)``: the teacher's one-step data
    estimate from ``z`` read as a sample at time ``t_init``, plus a residual MLP
    whose last layer starts at zero (SiD initialises its generator from the
    teacher). The teacher is frozen."""

    def __init__(
        self,
        teacher,
        sched: NoiseSchedule,
        dim: int = 2,
        t_init: float = 0.5,
        hidden: int = 128,
    ):
        super().__init__()
        check_callable(teacher, "teacher")
        if not isinstance(sched, NoiseSchedule):
            raise TypeError(
                f"sched must be a NoiseSchedule, got {type(sched).__name__}"
            )
        t_init = check_positive(t_init, "t_init")
        if not t_init <= sched.t_max or float(sched.signal(t_init)) <= 0:
            raise ValueError(f"t_init must lie in (0, t_max = {sched.t_max:g}]")
        self.teacher, self.sched = teacher, sched
        self.t_init = t_init
        dim, hidden = (
            check_int(dim, "dim", min_value=1),
            check_int(hidden, "hidden", min_value=1),
        )
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim, hidden),
            torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.SiLU(),
            torch.nn.Linear(hidden, dim),
        )
        torch.nn.init.zeros_(self.net[-1].weight)
        torch.nn.init.zeros_(self.net[-1].bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``g(z)``: z (B, dim) -> (B, dim)."""
        check_tensor(z, "z", ndim=2)
        if z.shape[1] != self.net[0].in_features:
            raise ValueError(
                f"z must have shape (B, {self.net[0].in_features}), got "
                f"{tuple(z.shape)}"
            )
        a, b = (
            float(self.sched.signal(self.t_init)),
            float(self.sched.noise(self.t_init)),
        )
        with torch.no_grad():
            t = torch.full((z.shape[0],), self.t_init, dtype=z.dtype, device=z.device)
            eps = check_model_output(self.teacher(z, t), z, "teacher")
            x0_hat = x0_from_eps(z, eps, a, b)
        return x0_hat + self.net(z)


def sid_distill(
    teacher,
    generator: torch.nn.Module,
    fake: torch.nn.Module,
    sched: NoiseSchedule,
    *,
    form: str = "L2-lam*L1",
    lam: float = 1.2,
    iters: int = 600,
    batch: int = 512,
    lr_g: float = 1e-3,
    lr_f: float = 1e-3,
    t_range=(0.05, 0.8),
    fake_pretrain: int = 200,
    dim: int = 2,
    seed: int = 0,
    snapshot_every: int | None = None,
    n_snapshot: int = 2000,
    progress: bool = True,
) -> dict:
    """Alternate one fake DSM step and one generator step (eq. sid-fake, then the chosen
    loss), after ``fake_pretrain`` fake steps on the initial generator. Adam with
    betas (0, 0.99) for both.

    Returns ``{"snapshots": {iteration: samples (n_snapshot, dim)}, "g_loss": [...],
    "f_loss": [...]}``.
    """
    iters, batch = (
        check_int(iters, "iters", min_value=1),
        check_int(batch, "batch", min_value=1),
    )
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    check_callable(teacher, "teacher")
    for mod, nm in ((generator, "generator"), (fake, "fake")):
        if not isinstance(mod, torch.nn.Module) or not list(mod.parameters()):
            raise TypeError(f"{nm} must be a torch.nn.Module with parameters")
    _check_range(sched, t_range)
    check_positive(lam, "lam", allow_zero=True)
    fake_pretrain = check_int(fake_pretrain, "fake_pretrain", min_value=0)
    dim = check_int(dim, "dim", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    n_snapshot = check_int(n_snapshot, "n_snapshot", min_value=1)
    if snapshot_every is not None:
        snapshot_every = check_int(snapshot_every, "snapshot_every", min_value=1)
    check_bool(progress, "progress")
    probe = torch.zeros(1, dim, dtype=next(generator.parameters()).dtype)
    try:
        out = generator(probe)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ValueError(
            f"dim: generator cannot map a (B, {dim}) batch: {err}"
        ) from err
    if not isinstance(out, torch.Tensor) or out.shape != probe.shape:
        raise ValueError(f"dim: generator must map (B, {dim}) to (B, {dim})")
    gen = torch.Generator().manual_seed(seed)
    opt_g = torch.optim.Adam(
        generator.parameters(), lr=check_positive(lr_g, "lr_g"), betas=(0.0, 0.99)
    )
    opt_f = torch.optim.Adam(
        fake.parameters(), lr=check_positive(lr_f, "lr_f"), betas=(0.0, 0.99)
    )
    dtype = next(generator.parameters()).dtype
    z_fixed = torch.randn(
        n_snapshot, dim, generator=torch.Generator().manual_seed(seed + 1), dtype=dtype
    )
    out = {"snapshots": {}, "g_loss": [], "f_loss": []}

    def fake_step():
        with torch.no_grad():
            x_g = generator(torch.randn(batch, dim, generator=gen, dtype=dtype))
        loss = fake_dsm_loss(fake, x_g, sched, t_range=t_range, generator=gen)
        opt_f.zero_grad(set_to_none=True)
        loss.backward()
        opt_f.step()
        return loss.item()

    for _ in range(fake_pretrain):
        fake_step()
    book = (
        os.environ.get("KEXUE_BOOK_BUILD") == "1"
    )  # as kexue.nn.train: one summary line in the book
    for it in tqdm(
        range(iters + 1),
        disable=not progress or book,
        desc=f"SiD ({form})",
        mininterval=0.5,
    ):
        if snapshot_every is not None and it % snapshot_every == 0:
            with torch.no_grad():
                out["snapshots"][it] = generator(z_fixed).detach().clone()
        if it == iters:
            break
        out["f_loss"].append(fake_step())
        fake.requires_grad_(False)
        x_g = generator(torch.randn(batch, dim, generator=gen, dtype=dtype))
        loss = sid_generator_loss(
            teacher,
            fake,
            x_g,
            sched,
            form=form,
            lam=lam,
            t_range=t_range,
            generator=gen,
        )
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        fake.requires_grad_(True)
        out["g_loss"].append(loss.item())
    if progress and book:
        print(f"SiD ({form}): {iters} iterations")
    return out
