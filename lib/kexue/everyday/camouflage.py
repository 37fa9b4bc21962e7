"""A toy selection model of protective colouring (chapter *appendix/camouflage*).

The post (《大自然的隐身术——保护色》) only defines crypsis; the model is the
chapter's own ("ours"), a minimal illustration, not biology. Symbols and equation
labels are those of the chapter:

* ``c`` a prey's colour (an unbounded real number, so the Gaussian closed forms hold),
  ``b`` the background colour, ``s`` the predator's colour tolerance (smaller ``s`` =
  sharper eye), ``kappa`` the survival of a perfectly matched still prey;
* a still prey survives with ``kappa * exp(-(c - b)^2 / (2 s^2))`` (``camo-survival``),
  a moving prey with ``1 - motion_catch`` whatever its colour; a fraction
  ``moving_fraction`` of prey is moving. A background of several
  patches with ``weights`` averages the still survival over the patches;
* a Gaussian population ``N(mu, var)`` after selection on one background is again
  Gaussian (``camo-select``): ``mu' = (mu s^2 + b var) / (s^2 + var)``, ``var' = var s^2
  / (s^2 + var)``; mutation adds ``mutation_sd^2`` (``camo-mutate``); the mean gap
  shrinks by ``s^2 / (s^2 + var)`` per generation (``camo-gap``) and the variance
  settles at ``(m^2 + sqrt(m^4 + 4 m^2 s^2)) / 2`` (``camo-equilibrium``).

All tensors are float64 on the CPU; every function validates its arguments.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._validate import (
    check_generator,
    check_int,
    check_positive,
    check_prob,
    check_real,
    check_tensor,
)

__all__ = [
    "SelectionStep",
    "Recursion",
    "Simulation",
    "survival_prob",
    "gaussian_selection_step",
    "gaussian_selection_recursion",
    "equilibrium_variance",
    "simulate_selection",
    "colour_histogram",
    "optimal_colour",
]

F64 = torch.float64


class SelectionStep(NamedTuple):
    """One generation of selection on a Gaussian population (floats).

    ``mean``, ``var``: the survivors' colour mean and variance; ``survival``: the
    fraction of the population that survives (may underflow to 0.0 for a population
    far from the background, while ``mean`` and ``var`` stay exact).
    """

    mean: float
    var: float
    survival: float


class Recursion(NamedTuple):
    """The deterministic recursion: ``mean`` and ``var`` of shape (G + 1,), generation 0
    first (the colour distribution *before* each generation's selection)."""

    mean: torch.Tensor
    var: torch.Tensor


class Simulation(NamedTuple):
    """An individual-based run.

    ``colours``: (T + 1, N), row ``t`` the population before the selection of
    generation ``t`` (``T = G`` unless the population died out); ``survivors``: (T,)
    int64, how many survived each generation's selection; ``extinct_at``: the generation
    in which nobody survived (then ``colours`` stops there), or ``None``.
    """

    colours: torch.Tensor
    survivors: torch.Tensor
    extinct_at: int | None


# ------------------------------------------------------------------------- validation
def _background(background, name: str = "background") -> torch.Tensor:
    """A float or a 1-D tensor of patch colours -> (K,) float64."""
    if isinstance(background, torch.Tensor):
        check_tensor(background, name, finite=True, nonempty=True)
        if background.ndim > 1:
            raise ValueError(
                f"{name} must be a number or a 1-D tensor of patch colours, got shape "
                f"{tuple(background.shape)}"
            )
        return background.to(F64).reshape(-1)
    return torch.tensor([check_real(background, name)], dtype=F64)


def _weights(weights, k: int) -> torch.Tensor:
    if weights is None:
        return torch.full((k,), 1.0 / k, dtype=F64)
    check_tensor(weights, "weights", ndim=1, finite=True)
    if weights.shape[0] != k:
        raise ValueError(
            f"weights must have one entry per background patch ({k}), got "
            f"{weights.shape[0]}"
        )
    w = weights.to(F64)
    if bool((w < 0).any()) or abs(float(w.sum()) - 1.0) > 1e-9:
        raise ValueError(
            f"weights must be >= 0 and sum to 1, got {w.tolist()} "
            f"(sum {float(w.sum())})"
        )
    return w


def _rates(kappa, moving_fraction, motion_catch) -> tuple[float, float, float]:
    kappa = check_real(kappa, "kappa", low=0.0, high=1.0, low_open=True)
    f = check_prob(moving_fraction, "moving_fraction")
    catch = check_prob(motion_catch, "motion_catch")
    return kappa, f, catch


# ------------------------------------------------------------------------ the model
def survival_prob(
    colour,
    background,
    s,
    *,
    kappa=0.5,
    moving_fraction=0.0,
    motion_catch=0.5,
    weights=None,
) -> torch.Tensor:
    """Probability that a prey of colour ``colour`` survives one generation.

    Equation ``camo-survival`` of the chapter:
    ``(1 - f) * kappa * sum_k p_k exp(-(c - b_k)^2 / (2 s^2))
    + f * (1 - motion_catch)``.

    Args:
        colour: tensor of any shape, the prey colours.
        background: a number, or a (K,) tensor of patch colours.
        s: the predator's colour tolerance, > 0 (same units as the colours).
        kappa: survival of a perfectly matched still prey, in (0, 1].
        moving_fraction: ``f``, the probability that a prey is moving, in [0, 1].
        motion_catch: probability that a moving prey is caught, whatever its colour.
        weights: (K,) probabilities of the patches (default: equal).

    Returns:
        a float64 tensor shaped like ``colour``, values in [0, 1].
    """
    c = check_tensor(colour, "colour", finite=True).to(F64)
    b = _background(background)
    s = check_positive(s, "s")
    kappa, f, catch = _rates(kappa, moving_fraction, motion_catch)
    p = _weights(weights, b.shape[0])
    still = (p * torch.exp(-((c[..., None] - b) ** 2) / (2 * s * s))).sum(-1)
    return (1 - f) * kappa * still + f * (1 - catch)


def gaussian_selection_step(
    mean,
    var,
    background,
    s,
    *,
    kappa=0.5,
    moving_fraction=0.0,
    motion_catch=0.5,
) -> SelectionStep:
    """Exact moments of the survivors of colours ``N(mean, var)``, one background.

    Still survivors are Gaussian (``camo-select``, completing the square); moving
    survivors keep the parent distribution; with ``moving_fraction > 0`` the survivors
    are the two-Gaussian mixture, whose mean and variance are returned exactly. The
    mixture weights are computed in log space, so a population far from the background
    gives the exact ``mean``/``var`` even when ``survival`` underflows.

    Args:
        mean, var: the parent colour mean (real) and variance (> 0).
        background: the background colour (a number).
        s, kappa, moving_fraction, motion_catch: as in :func:`survival_prob`.
    """
    mu = check_real(mean, "mean")
    v = check_positive(var, "var")
    b = check_real(background, "background")
    s = check_positive(s, "s")
    kappa, f, catch = _rates(kappa, moving_fraction, motion_catch)
    if f == 1.0 and catch == 1.0:
        raise ValueError(
            "moving_fraction=1 with motion_catch=1 leaves no survivor; "
            "lower one of them"
        )
    s2 = s * s
    mu_s, v_s = (mu * s2 + b * v) / (s2 + v), v * s2 / (s2 + v)
    # log of the still survivors' share: kappa * E[w(c)] for c ~ N(mu, var)
    log_still = (
        math.log(kappa) + 0.5 * math.log(s2 / (s2 + v)) - (mu - b) ** 2 / (2 * (s2 + v))
    )
    logs = []
    if f < 1.0:
        logs.append((math.log1p(-f) + log_still, mu_s, v_s))
    if f > 0.0 and catch < 1.0:
        logs.append((math.log(f) + math.log1p(-catch), mu, v))
    top = max(lw for lw, _, _ in logs)
    ws = [math.exp(lw - top) for lw, _, _ in logs]
    total = sum(ws)
    m = sum(w * mk for w, (_, mk, _) in zip(ws, logs, strict=True)) / total
    var_out = (
        sum(w * (vk + (mk - m) ** 2) for w, (_, mk, vk) in zip(ws, logs, strict=True))
        / total
    )
    return SelectionStep(m, var_out, math.exp(top) * total)


def gaussian_selection_recursion(
    mean0,
    var0,
    backgrounds,
    s,
    mutation_sd,
    *,
    kappa=0.5,
    moving_fraction=0.0,
    motion_catch=0.5,
) -> Recursion:
    """The infinite-population recursion: selection (``camo-select``), then mutation
    (``camo-mutate``: ``var += mutation_sd**2``), once per generation.

    Exact for ``moving_fraction = 0`` (the population stays Gaussian). With moving prey
    the survivors are a mixture of two Gaussians; the recursion then replaces it by the
    Gaussian of the same mean and variance (a moment closure, an approximation).

    Args:
        mean0, var0: the initial colour mean and variance (> 0).
        backgrounds: (G,) tensor, the background of each generation.
        s, kappa, moving_fraction, motion_catch: as in :func:`survival_prob`.
        mutation_sd: standard deviation of the mutation added to each offspring, >= 0.

    Returns:
        :class:`Recursion` with ``mean`` and ``var`` of shape (G + 1,).
    """
    mu = check_real(mean0, "mean0")
    v = check_positive(var0, "var0")
    bg = check_tensor(backgrounds, "backgrounds", ndim=1, finite=True, nonempty=True)
    s = check_positive(s, "s")
    m2 = check_positive(mutation_sd, "mutation_sd", allow_zero=True) ** 2
    kappa, f, catch = _rates(kappa, moving_fraction, motion_catch)
    means, variances = [mu], [v]
    for b in bg.to(F64).tolist():
        step = gaussian_selection_step(
            mu, v, b, s, kappa=kappa, moving_fraction=f, motion_catch=catch
        )
        mu, v = step.mean, step.var + m2
        means.append(mu)
        variances.append(v)
    return Recursion(torch.tensor(means, dtype=F64), torch.tensor(variances, dtype=F64))


def equilibrium_variance(s, mutation_sd) -> float:
    """The fixed point of the variance recursion (``camo-equilibrium``), no moving prey:
    ``sigma*^2 = (m^2 + sqrt(m^4 + 4 m^2 s^2)) / 2`` with ``m = mutation_sd``; it does
    not depend on the background, the mean or ``kappa``."""
    s = check_positive(s, "s")
    m2 = check_positive(mutation_sd, "mutation_sd", allow_zero=True) ** 2
    return 0.5 * (m2 + math.sqrt(m2 * m2 + 4 * m2 * s * s))


def simulate_selection(
    backgrounds,
    s,
    mutation_sd,
    *,
    n_prey=500,
    mean0=0.0,
    sd0=0.1,
    kappa=0.5,
    moving_fraction=0.0,
    motion_catch=0.5,
    weights=None,
    generator=None,
) -> Simulation:
    """Individual-based run of the model, a fixed population size ``n_prey``.

    Each generation: every prey survives independently with :func:`survival_prob` (being
    moving, or standing on a patch, is drawn afresh per prey and generation, so a
    Bernoulli draw with the marginal probability is the same model); ``n_prey``
    offspring are drawn uniformly with replacement from the survivors, each with
    Gaussian mutation of sd ``mutation_sd``. If nobody survives, the run stops.

    Args:
        backgrounds: (G,) tensor of background colours per generation, or (G, K) of
            patch colours per generation (with ``weights``).
        s, kappa, moving_fraction, motion_catch, weights: as in :func:`survival_prob`.
        mutation_sd: mutation standard deviation, >= 0.
        n_prey: population size, >= 2.
        mean0, sd0: the initial population is ``N(mean0, sd0^2)``, ``sd0 > 0``.
        generator: a ``torch.Generator`` (for repeatable runs) or None.

    Returns:
        :class:`Simulation`.
    """
    bg = check_tensor(backgrounds, "backgrounds", finite=True, nonempty=True)
    if bg.ndim not in (1, 2):
        raise ValueError(
            f"backgrounds must have shape (G,) or (G, K), got {tuple(bg.shape)}"
        )
    bg = bg.to(F64)
    s = check_positive(s, "s")
    m = check_positive(mutation_sd, "mutation_sd", allow_zero=True)
    n = check_int(n_prey, "n_prey", min_value=2)
    mu0 = check_real(mean0, "mean0")
    sd0 = check_positive(sd0, "sd0")
    kappa, f, catch = _rates(kappa, moving_fraction, motion_catch)
    k = 1 if bg.ndim == 1 else bg.shape[1]
    p = _weights(weights, k)
    g = check_generator(generator)
    c = mu0 + sd0 * torch.randn(n, generator=g, dtype=F64)
    rows, survivors, extinct = [c], [], None
    for t in range(bg.shape[0]):
        surv = survival_prob(
            c, bg[t], s, kappa=kappa, moving_fraction=f, motion_catch=catch, weights=p
        )
        alive = c[torch.rand(n, generator=g, dtype=F64) < surv]  # (S,)
        survivors.append(alive.numel())
        if alive.numel() == 0:
            extinct = t
            break
        parents = alive[torch.randint(alive.numel(), (n,), generator=g)]
        c = parents + m * torch.randn(n, generator=g, dtype=F64)
        rows.append(c)
    return Simulation(
        torch.stack(rows), torch.tensor(survivors, dtype=torch.int64), extinct
    )


def colour_histogram(colours, edges) -> torch.Tensor:
    """Fraction of each row of ``colours`` (T, N) in each bin of ``edges`` (B + 1,),
    increasing; values outside ``[edges[0], edges[-1])`` are not counted.
    Returns (T, B).
    """
    x = check_tensor(colours, "colours", ndim=2, finite=True, nonempty=True).to(F64)
    e = check_tensor(edges, "edges", ndim=1, finite=True).to(F64)
    if e.numel() < 2 or not bool((e[1:] > e[:-1]).all()):
        raise ValueError("edges must hold at least 2 strictly increasing values")
    idx = torch.searchsorted(e, x, right=True) - 1  # (T, N), bin of each colour
    b = e.numel() - 1
    inside = (idx >= 0) & (idx < b)
    rows = torch.arange(x.shape[0])[:, None].expand_as(idx)
    counts = torch.zeros(x.shape[0], b, dtype=F64)
    counts.index_put_(
        (rows[inside], idx[inside]), torch.ones((), dtype=F64), accumulate=True
    )
    return counts / x.shape[1]


def optimal_colour(background, s, *, weights=None, n_grid=4001) -> float:
    """The colour a still prey should have: the global maximiser of the still survival
    ``sum_k p_k exp(-(c - b_k)^2 / (2 s^2))`` (``camo-patches``).

    A grid of ``n_grid`` points over ``[min b - 3 s, max b + 3 s]`` picks the best
    peak, then a bounded Brent search refines it to ~1e-10.
    """
    from scipy.optimize import minimize_scalar

    b = _background(background)
    s = check_positive(s, "s")
    p = _weights(weights, b.shape[0])
    n_grid = check_int(n_grid, "n_grid", min_value=3)
    lo, hi = float(b.min()) - 3 * s, float(b.max()) + 3 * s
    grid = torch.linspace(lo, hi, n_grid, dtype=F64)

    def still(c):
        return (p * torch.exp(-((c[..., None] - b) ** 2) / (2 * s * s))).sum(-1)

    k = int(torch.argmax(still(grid)))
    h = (hi - lo) / (n_grid - 1)
    res = minimize_scalar(
        lambda c: -float(still(torch.tensor(c, dtype=F64))),
        bounds=(float(grid[k]) - h, float(grid[k]) + h),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(res.x)
