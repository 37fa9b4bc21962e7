"""Helpers of the sid chapter: a fake denoiser initialised at the teacher, a mode test
that a uniform ring fails, and the gradient flow of the Gaussian toy.

``TeacherInitFake`` is ``eps_psi(x, t) = eps_teacher(x, t) + r(x, t)`` with a residual
network ``r`` whose last layer starts at zero, the analogue for an analytic teacher of
SiD's ``fake_score = copy.deepcopy(true_score)``. ``mode_test`` compares the fraction of
samples within two standard deviations of their nearest mode centre with its exact value
under the mixture (``chi2.cdf(4, D)``), with a binomial standard error. ``toy_flow``
integrates a gradient field of the toy's generator parameters ``(mu, log s)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import chi2

from .._validate import (
    as_tensor,
    check_callable,
    check_generator,
    check_int,
    check_positive,
    check_real,
)
from ..nn import TimeMLP

__all__ = ["TeacherInitFake", "mode_test", "uniform_ring", "toy_flow"]


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
    """Does a sample look like an isotropic mixture with these ``centers`` (K, D) and
    ``std``?

    ``core`` is the fraction of the N samples within ``2 std`` of their nearest centre;
    under the mixture (modes well separated) it is ``p = chi2.cdf(4, D)`` (0.865 in 2-D)
    with binomial standard error ``se = sqrt(p (1 - p) / N)``. ``passes`` is ``|core -
    p| <= k se``. A uniform ring through the centres has ``core`` far below ``p`` and
    fails.
    """
    x = as_tensor(samples, "samples", finite=True).detach().cpu()
    c = as_tensor(centers, "centers", finite=True).detach().cpu()
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1] or len(x) < 2:
        raise ValueError(
            "samples (N, D) with N >= 2 and centers (K, D) must share D, got "
            f"{tuple(x.shape)} and {tuple(c.shape)}"
        )
    std, k = check_positive(std, "std"), check_positive(k, "k")
    N, D = x.shape
    dist = torch.cdist(x, c).min(1).values
    core = dist <= 2 * std
    p = float(chi2.cdf(4.0, D))
    se = math.sqrt(p * (1 - p) / N)
    frac = float(core.double().mean())
    return {
        "core": frac,
        "expected": p,
        "se": se,
        "passes": abs(frac - p) <= k * se,
    }


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
