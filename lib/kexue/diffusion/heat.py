"""The heat-equation ODE of the ode-direct chapter (eq. ode-direct-sampler).

With signal 1 and noise ``sigma_t = t`` (:class:`~kexue.diffusion.HeatSchedule`) the
marginal of the data is ``p_t = p_0 * N(0, t^2 I)`` and the sampler is
``dx/dt = -t grad log p_t(x)``.

* :func:`mixture_log_prob_t` -- ``log p_t(x)`` of a blurred isotropic mixture,
  differentiable in ``x`` *and* ``t`` (for ``continuity_residual``);
* :class:`LogTimeNet`, :func:`log_uniform_times`, :func:`train_sizes` -- the trainable
  model of eq. (ode-direct-loss): a noise predictor that sees ``log t``;
* :func:`nn_gap` -- do samples sit closer to the training set than to a held-out set?
* :func:`copy_excess` -- that gap less a reference sampler's, over redrawn held-out
  sets, with exact-copy mixtures to calibrate it;
* :func:`prior_kl` -- ``KL(N(0, s^2 I) || p_0 * N(0, s^2 I))`` by Gauss-Hermite
  quadrature: the exact price of the prior ``x_T = sigma_T eps`` (an ODE is a
  bijection, so the sampler's output has the same KL to the data);
* :func:`heat_paths_1d`, :func:`draw_heat_ode_1d` -- the chapter's 1-D demo.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validate import check_generator, check_int, check_positive, check_tensor
from .continuous import HeatSchedule

__all__ = [
    "mixture_log_prob_t",
    "LogTimeNet",
    "log_uniform_times",
    "train_sizes",
    "nn_gap",
    "copy_excess",
    "prior_kl",
    "heat_paths_1d",
    "draw_heat_ode_1d",
]


def train_sizes() -> dict:
    """The ode-direct chapter's sizes, ``kexue.device.preset("ode-direct")`` (a fresh
    dict at the current :func:`kexue.device.scale`); kept for older callers."""
    from ..device import preset

    return preset("ode-direct")


def _isotropic_variances(mix) -> torch.Tensor:
    from ..data import GaussianMixture

    if not isinstance(mix, GaussianMixture):
        raise TypeError(f"mix must be a GaussianMixture, got {type(mix).__name__}")
    var = mix.covs.diagonal(dim1=-2, dim2=-1)[:, 0]  # (K,)
    iso = var[:, None, None] * torch.eye(mix.D, dtype=mix.covs.dtype)
    if not torch.allclose(mix.covs, iso):
        raise ValueError("mix must have isotropic components (covs = v_k I)")
    return var


def mixture_log_prob_t(mix, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``log p_t(x)`` for ``p_t = mix * N(0, t^2 I)``; x (N, D), t (N,) -> (N,).

    Differentiable in both ``x`` and ``t`` (``GaussianMixture.marginal`` takes a number
    ``t``), so that autograd can form ``d_t log p_t`` in the continuity residual
    (ode-direct chapter, eq. ode-direct-continuity). Components must be isotropic.
    """
    var0 = _isotropic_variances(mix)
    check_tensor(x, "x", ndim=2)
    check_tensor(t, "t", ndim=1)
    if x.shape[1] != mix.D or t.shape[0] != x.shape[0]:
        raise ValueError(
            f"x must be (N, {mix.D}) and t (N,), "
            f"got {tuple(x.shape)} and {tuple(t.shape)}"
        )
    var = var0[None] + t[:, None] ** 2  # (N, K)
    d2 = ((x[:, None, :] - mix.means[None]) ** 2).sum(-1)  # (N, K)
    log_c = (
        torch.log(mix.weights)[None]
        - d2 / (2 * var)
        - 0.5 * mix.D * torch.log(2 * math.pi * var)
    )
    return torch.logsumexp(log_c, dim=1)


class LogTimeNet(torch.nn.Module):
    """``eps_theta(x, t) = net(x / sqrt(s^2 + t^2), tau)``, ``tau`` = log t in [0, 1].

    The noise predictor trained with eq. (ode-direct-loss) under the heat schedule:
    ``t`` spans four decades, so the network sees ``tau = log(t / t_min) / log(t_max /
    t_min)``; the input is divided by the standard deviation of ``x_t`` (data spread
    ``s``), the input scaling of Karras et al. (2022). ``net`` maps ``(x (B, D), tau
    (B,))`` to (B, D), e.g. :class:`kexue.nn.TimeMLP`.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        t_min: float = 1e-3,
        t_max: float = 20.0,
        data_std: float = 1.0,
    ):
        super().__init__()
        if not isinstance(net, torch.nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
        self.t_min = check_positive(t_min, "t_min")
        self.t_max = check_positive(t_max, "t_max")
        if self.t_min >= self.t_max:
            raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")
        self.data_std = check_positive(data_std, "data_std")
        self.net = net

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", ndim=2)
        check_tensor(t, "t", ndim=1)
        t = t.to(x.dtype)
        tau = torch.log(t / self.t_min) / math.log(self.t_max / self.t_min)
        return self.net(x / torch.sqrt(self.data_std**2 + t[:, None] ** 2), tau)


def log_uniform_times(
    n: int, t_min: float, t_max: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` times, ``log t`` uniform on ``[log t_min, log t_max]``; (n,) float32."""
    n = check_int(n, "n", min_value=1)
    generator = check_generator(generator)
    t_min, t_max = check_positive(t_min, "t_min"), check_positive(t_max, "t_max")
    if t_min >= t_max:
        raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")
    u = torch.rand(n, generator=generator)
    return torch.exp(math.log(t_min) + u * math.log(t_max / t_min))


def nn_gap(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor) -> dict:
    """Nearest-neighbour distances of samples (N, D) to ``train``, ``held_out`` (M, D).

    ``train`` and ``held_out`` are two draws of the same size from the data law. A
    sampler that copies the training set has ``d_train`` near 0 and ``gap =
    mean(d_train - d_held) < 0``. ``se`` is the standard error of the paired
    difference *given the two sets*: it covers the samples' randomness only. Which
    of two finite sets happens to lie closer to the data's dense regions adds an
    offset that does not shrink with N (in the ode-direct chapter, 300 points and
    8,000 samples, a fresh draw's ``gap`` spreads by about 3.8 ``se`` over redrawn
    sets), so ``z`` is not a calibrated test statistic; use :func:`copy_excess` for
    one. Returns the distances and ``gap``, ``se``, ``z = gap / se``, ``on_train``
    (share of samples within 0.01 of a training point).
    """
    for name, v in (("samples", samples), ("train", train), ("held_out", held_out)):
        check_tensor(v, name, ndim=2)
    if train.shape != held_out.shape or samples.shape[1] != train.shape[1]:
        raise ValueError(
            "train and held_out must have one shape (M, D) and samples (N, D), got "
            f"{tuple(train.shape)}, {tuple(held_out.shape)}, {tuple(samples.shape)}"
        )
    x = samples.double()
    d_tr = torch.cdist(x, train.double()).min(dim=1).values
    d_ho = torch.cdist(x, held_out.double()).min(dim=1).values
    diff = d_tr - d_ho
    gap, se = float(diff.mean()), float(diff.std() / math.sqrt(len(diff)))
    return {
        "d_train": d_tr,
        "d_held": d_ho,
        "gap": gap,
        "se": se,
        "z": gap / se if se > 0 else float("-inf"),
        "on_train": float((d_tr < 0.01).double().mean()),
    }


def copy_excess(
    samples: dict,
    train: torch.Tensor,
    reference: torch.Tensor,
    held_sets,
    copy_idx: torch.Tensor,
    shares=(0.05, 0.2),
) -> dict:
    """Calibrated copying measure of the ode-direct chapter: :func:`nn_gap`'s gap less
    a reference sampler's, on each of several redrawn held-out sets.

    ``samples`` maps names to (N_i, D) samples, ``reference`` (N, D) is a
    non-copying sampler (a fresh draw of the data), ``held_sets`` a sequence of K
    (M, D) draws of the data law of the shape of ``train``. For each held-out set
    and sampler the excess is ``mean(d_train - d_held) - [the same for reference]``;
    a sampler that favours the training set has excess < 0. For each ``share`` p it
    adds the mixture ``"p% copies"``: ``reference`` with its first ``round(p N)``
    points replaced by ``train[copy_idx[:round(p N)]]`` (exact copies, ``d_train =
    0``), the scale that turns an excess into a copy-equivalent. Returns ``{name:
    tensor (K,)}`` of excesses. One ``cdist`` per held-out set on all points
    together.
    """
    if not isinstance(samples, dict) or not samples:
        raise TypeError(
            f"samples must be a non-empty dict of tensors, got {type(samples).__name__}"
        )
    check_tensor(train, "train", ndim=2)
    check_tensor(reference, "reference", ndim=2)
    check_tensor(copy_idx, "copy_idx", ndim=1, floating=False)
    d = train.shape[1]
    for name, xs in samples.items():
        check_tensor(xs, f"samples[{name!r}]", ndim=2)
        if xs.shape[1] != d:
            raise ValueError(f"samples[{name!r}] must have {d} columns, got {xs.shape}")
    if reference.shape[1] != d:
        raise ValueError(f"reference must have {d} columns, got {reference.shape}")
    held_sets = list(held_sets)
    if not held_sets:
        raise ValueError("held_sets must hold at least one set")
    for k, held in enumerate(held_sets):
        check_tensor(held, f"held_sets[{k}]", ndim=2)
        if held.shape != train.shape:
            raise ValueError(
                f"held_sets[{k}] must have the shape of train {tuple(train.shape)}, "
                f"got {tuple(held.shape)}"
            )
    n_ref = len(reference)
    counts = {}
    for p in shares:
        if not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise ValueError(f"shares must lie in (0, 1], got {p!r}")
        counts[f"{p:.0%} copies"] = round(p * n_ref)
    if copy_idx.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"copy_idx must be an integer tensor, got {copy_idx.dtype}")
    n_max = max(counts.values(), default=0)
    if len(copy_idx) < n_max or (
        len(copy_idx) and (copy_idx.min() < 0 or copy_idx.max() >= len(train))
    ):
        raise ValueError(
            f"copy_idx must hold at least {n_max} indices into train "
            f"(0..{len(train) - 1})"
        )
    names = list(samples)
    parts = [samples[k].double() for k in names] + [reference.double(), train.double()]
    sizes = [len(x) for x in parts]
    pts, tr = torch.cat(parts), train.double()
    d_tr = torch.cdist(pts, tr).min(dim=1).values
    out = {k: [] for k in names + list(counts)}
    for held in held_sets:
        diff = d_tr - torch.cdist(pts, held.double()).min(dim=1).values
        *chunks, ref, trn = diff.split(sizes)
        ref_mean = ref.mean()
        for k, chunk in zip(names, chunks, strict=True):
            out[k].append(float(chunk.mean() - ref_mean))
        for k, n in counts.items():
            mixed = torch.cat([trn[copy_idx[:n]], ref[n:]])
            out[k].append(float(mixed.mean() - ref_mean))
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in out.items()}


def prior_kl(mix, sigma: float, nodes: int = 60) -> float:
    """``KL(N(0, sigma^2 I) || mix * N(0, sigma^2 I))``, 1-D or 2-D mixture, in nats.

    Tensor-product Gauss-Hermite quadrature with ``nodes`` points per dimension over the
    Gaussian (the integrand ``log q - log p`` is smooth). It is the exact cost of
    sampling the heat ODE from ``x_T = sigma eps`` instead of ``x_0 + sigma eps``
    (ode-direct chapter, eq. ode-direct-sampler): an ODE is a bijection, and KL is
    invariant under bijections.
    """
    from ..data import GaussianMixture

    if not isinstance(mix, GaussianMixture):
        raise TypeError(f"mix must be a GaussianMixture, got {type(mix).__name__}")
    if mix.D not in (1, 2):
        raise ValueError(f"mix must be 1- or 2-dimensional, got D={mix.D}")
    sigma = check_positive(sigma, "sigma")
    nodes = check_int(nodes, "nodes", min_value=2)
    z, w = np.polynomial.hermite_e.hermegauss(nodes)  # weight exp(-z^2 / 2)
    w = w / w.sum()
    if mix.D == 2:
        z = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
        w = np.outer(w, w).ravel()
    else:
        z = z[:, None]
    x = torch.as_tensor(sigma * z, dtype=torch.float64)
    scale = torch.tensor(sigma, dtype=torch.float64)
    log_q = torch.distributions.Normal(0.0 * scale, scale).log_prob(x).sum(1)
    log_p = mix.noised(1.0, sigma).log_prob(x)
    return float((torch.as_tensor(w) * (log_q - log_p)).sum())


def heat_paths_1d(
    mix, t_max: float = 3.0, n_paths: int = 30, steps: int = 150, seed: int = 6
) -> tuple[torch.Tensor, torch.Tensor]:
    """Trajectories of the 1-D heat ODE from ``t_max`` down to ``1e-3``, from quantiles.

    The starts are the 2 %...98 % quantiles of ``p_{t_max}`` (from 20,000 draws of the
    exact prior), so the paths show where each share of the mass goes. Returns
    ``times`` (steps + 1,) and ``paths`` (steps + 1, n_paths); Heun, quadratic steps.
    """
    from .samplers import Trajectory
    from .sde import pf_ode_sample

    _isotropic_variances(mix)
    seed = check_int(seed, "seed", min_value=0)
    sched = HeatSchedule(t_max=check_positive(t_max, "t_max"))
    draws = mix.marginal(t_max, sched).sample(
        20_000, generator=torch.Generator().manual_seed(seed)
    )[:, 0]
    levels = torch.linspace(0.02, 0.98, check_int(n_paths, "n_paths", min_value=1))
    start = torch.quantile(draws, levels.double())[:, None]
    traj = Trajectory()
    pf_ode_sample(
        mix.eps_model(sched),
        start,
        sched,
        method="heun",
        steps=check_int(steps, "steps", min_value=1),
        spacing="quadratic",
        denoise=False,
        callback=traj,
    )
    return torch.tensor(traj.indices, dtype=torch.float64), traj.stack()[..., 0]


def draw_heat_ode_1d(mix, times, paths, t: float, t_max: float = 3.0):
    """The ode-direct demo: ``p_t`` and ``f_t = -t d/dx log p_t`` (top), paths (bottom).

    ``times``, ``paths`` from :func:`heat_paths_1d`. Returns the figure.
    """
    from .. import plotting

    _isotropic_variances(mix)
    sched = HeatSchedule(t_max=check_positive(t_max, "t_max"))
    t = check_positive(t, "t")
    check_tensor(times, "times", ndim=1)
    check_tensor(paths, "paths", ndim=2)
    xs = torch.linspace(-4, 4, 400, dtype=torch.float64)[:, None]
    fig, axes = plotting.figure(nrows=2, size=3.6)
    top = axes[0]
    top.plot(xs[:, 0], mix.marginal(t, sched).log_prob(xs).exp(), "tab:blue")
    top.set(ylabel=r"density $p_t(x)$", title=f"$t = {t}$")
    top.yaxis.label.set_color("tab:blue")
    right = top.twinx()
    right.plot(xs[:, 0], -t * mix.score_t(xs, t, sched)[:, 0], "tab:orange")
    right.axhline(0, color="0.7", lw=0.5)
    right.set_ylabel(r"velocity $f_t(x)$", color="tab:orange")
    top.set_xlabel(r"$x$")
    axes[1].plot(times, paths, color="tab:blue", lw=0.6)
    axes[1].axvline(t, color="k", lw=0.8)
    axes[1].set(
        xlabel=r"$t$", ylabel=r"$x_t$", ylim=(-7, 7)
    )  # p_3 quantiles reach ~+-6
    return fig
