"""Toy data sets, generated locally or read from scikit-learn's bundled files (never
downloaded)."""

from __future__ import annotations

import numpy as np
import torch

from .._validate import check_bool, check_int, check_positive, check_real

__all__ = ["moons", "swiss_roll", "two_d", "digits", "digits_images", "TWO_D"]


def _pair(v, name: str) -> tuple[float, float]:
    """A finite ``(low, high)`` pair with ``low < high``."""
    if not isinstance(v, tuple | list) or len(v) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {v!r}")
    lo, hi = check_real(v[0], name), check_real(v[1], name)
    if not lo < hi:
        raise ValueError(f"{name} must be (low, high) with low < high, got {v}")
    return lo, hi


def _standardize(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / x.std(0)


# Population moments of the noiseless two-moons law (each arc with probability 1/2, the
# angle uniform on [0, pi]): E[x] = 1/2, Var x = 3/4; E[y] = 1/4, Var y = 9/16 - 1/pi.
_MOONS_MEAN = np.array([0.5, 0.25])
_MOONS_VAR = np.array([0.75, 0.5625 - 1.0 / np.pi])


def moons(
    n: int, noise: float = 0.05, seed: int = 0, standardize: bool = True
) -> torch.Tensor:
    """``n`` independent draws from the two-moons distribution, shape (n, 2), float32.

    The arcs of scikit-learn's ``make_moons``, ``(cos a, sin a)`` and ``(1 - cos a,
    1/2 - sin a)``: each point picks an arc with probability 1/2 and an angle ``a``
    uniform on ``[0, pi]``, plus ``N(0, noise^2 I)``. (``make_moons`` instead puts its
    points on an even grid of angles, so two of its draws sit closer to each other than
    two independent samples and a metric's "data vs data" floor comes out too low: the
    ode-direct chapter shows it.) ``standardize``: subtract the population mean and
    divide by the population standard deviation (exact, above, with the noise): one
    fixed affine map, the same for every draw and every ``n``.
    """
    n = check_int(n, "n", min_value=2)
    noise = check_positive(noise, "noise", allow_zero=True)
    seed = check_int(seed, "seed", min_value=0)
    check_bool(standardize, "standardize")
    rng = np.random.default_rng(seed)
    angle, inner = np.pi * rng.random(n), rng.random(n) < 0.5
    x = np.where(inner, 1.0 - np.cos(angle), np.cos(angle))
    y = np.where(inner, 0.5 - np.sin(angle), np.sin(angle))
    pts = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    if standardize:
        pts = (pts - _MOONS_MEAN) / np.sqrt(_MOONS_VAR + noise**2)
    return torch.as_tensor(pts, dtype=torch.float32)


def swiss_roll(
    n: int, noise: float = 0.3, seed: int = 0, standardize: bool = True
) -> torch.Tensor:
    """A 2-D swiss roll: scikit-learn ``make_swiss_roll`` projected on its (x, z) plane,
    shape (n, 2)."""
    from sklearn.datasets import make_swiss_roll

    n = check_int(n, "n", min_value=2)
    check_positive(noise, "noise", allow_zero=True)
    seed = check_int(seed, "seed", min_value=0)
    check_bool(standardize, "standardize")
    x, _ = make_swiss_roll(n_samples=n, noise=noise, random_state=seed)
    x = x[:, [0, 2]]
    return torch.as_tensor(
        _standardize(x) if standardize else x / 10.0, dtype=torch.float32
    )


def _gaussians(n: int, seed: int = 0) -> torch.Tensor:
    from .mixture import ring_mixture

    return (
        ring_mixture(8, radius=2.0, std=0.15)
        .sample(n, generator=torch.Generator().manual_seed(seed))
        .float()
    )


TWO_D = {"moons": moons, "swiss_roll": swiss_roll, "gaussians": _gaussians}


def two_d(name: str, n: int, seed: int = 0) -> torch.Tensor:
    """One of the book's 2-D sets by name: ``"moons"``, ``"swiss_roll"`` or
    ``"gaussians"`` (8-mode ring)."""
    if not isinstance(name, str) or name not in TWO_D:
        raise ValueError(f"name must be one of {sorted(TWO_D)}, got {name!r}")
    n = check_int(n, "n", min_value=2)
    seed = check_int(seed, "seed", min_value=0)
    return TWO_D[name](n, seed=seed)


def digits(
    scale: tuple[float, float] = (-1.0, 1.0),
) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 handwritten digits as (1797, 64) float32 in ``scale``, with
    labels (1797,)."""
    from sklearn.datasets import load_digits

    lo, hi = _pair(scale, "scale")
    d = load_digits()
    x = d.data.astype(np.float32) / 16.0
    return torch.as_tensor(lo + (hi - lo) * x), torch.as_tensor(d.target)


def digits_images(
    scale: tuple[float, float] = (-1.0, 1.0),
) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits as images, (1797, 1, 8, 8), with labels."""
    x, y = digits(scale)
    return x.reshape(-1, 1, 8, 8), y
