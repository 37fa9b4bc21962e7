"""ODE diffusions built from isotropic kernels (ode-construction chapter).

A *scale-family* kernel perturbs data as ``x_t = x_0 + t z`` with ``z`` drawn from a
fixed isotropic law ``q(z)`` (chapter, the scale families of eq.
ode-construction-field). For the empirical distribution of a data set the marginal field
that transports ``p_0`` to ``p_t`` is then exactly (eq. ode-construction-field, ours)::

    f_t(x) = (x - E[x_0 | x_t = x]) / t,       E[x_0 | x_t = x] = sum_i w_i x0_i,  w_i ∝
    q((x - x0_i) / t)

and in the log-time clock ``tau = log t`` it reads ``dx/dtau = x - E[x_0 | x_t = x]``.

Kernels: :class:`GaussianKernel` (heat equation / VE with sigma_t = t),
:class:`PoissonKernel` (PFGM: the multivariate Cauchy law), :class:`RadialCDFKernel`
(the post's reverse construction from a radial CDF ``psi(r/t)``, e.g. ``1 - exp(-r/t)``
or ``tanh(r/t)``).
"""

from __future__ import annotations

import math

import torch

from .._validate import check_generator, check_int, check_positive, check_tensor
from .ode import ode_solve

__all__ = [
    "ScaleKernel",
    "LogTimeField",
    "GaussianKernel",
    "PoissonKernel",
    "RadialCDFKernel",
    "empirical_posterior_mean",
    "empirical_velocity",
    "prior_sample",
    "scale_ode_sample",
    "pfgm_perturb_original",
]


def _unit_directions(n: int, d: int, generator) -> torch.Tensor:
    v = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return v / v.norm(dim=1, keepdim=True)


class ScaleKernel:
    """An isotropic law ``q(z)`` on R^d; ``p_t(x | x0) = t^-d q((x - x0)/t)``."""

    name = "kernel"

    def log_q(self, z: torch.Tensor) -> torch.Tensor:
        """Unnormalised log density at z (..., d) -> (...). Only differences matter
        (posterior weights)."""
        raise NotImplementedError

    def sample_z(
        self, n: int, d: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """n draws of z, (n, d) float64."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GaussianKernel(ScaleKernel):
    """``z ~ N(0, I)``: the heat-equation / VE kernel with ``sigma_t = t`` (ode-direct
    chapter)."""

    name = "Gaussian"

    def log_q(self, z):
        check_tensor(z, "z", min_ndim=1)
        return -0.5 * (z**2).sum(-1)

    def sample_z(self, n, d, generator=None):
        check_generator(generator)
        return torch.randn(
            check_int(n, "n", min_value=1),
            check_int(d, "d", min_value=1),
            generator=generator,
            dtype=torch.float64,
        )


class PoissonKernel(ScaleKernel):
    """PFGM's kernel ``q(z) ∝ (1 + |z|^2)^{-(d+1)/2}``: the multivariate Cauchy
    (Student-t, 1 degree of freedom).

    Sampled as ``z = e_x / |e_t|`` with independent standard normals ``e_x`` (d) and
    ``e_t`` (1): the ratio in PFGM's own perturbation recipe (chapter, eq.
    ode-construction-pfgm-recipe).
    """

    name = "Poisson (PFGM)"

    def log_q(self, z):
        check_tensor(z, "z", min_ndim=1)
        d = z.shape[-1]
        return -0.5 * (d + 1) * torch.log1p((z**2).sum(-1))

    def sample_z(self, n, d, generator=None):
        check_generator(generator)
        n, d = check_int(n, "n", min_value=1), check_int(d, "d", min_value=1)
        e = torch.randn(n, d + 1, generator=generator, dtype=torch.float64)
        return e[:, :d] / e[:, d:].abs()


class RadialCDFKernel(ScaleKernel):
    """The reverse construction: the radius ``|z|`` has CDF ``psi(r)``; ``"exp"``: ``1 -
    e^{-r}``, ``"tanh"``: ``tanh r``.

    Cartesian density ``q(z) ∝ psi'(|z|) / |z|^{d-1}`` (chapter, eq.
    ode-construction-reverse).
    """

    _KINDS = ("exp", "tanh")

    def __init__(self, kind: str = "exp"):
        if kind not in self._KINDS:
            raise ValueError(f"kind must be one of {self._KINDS}, got {kind!r}")
        self.kind, self.name = (
            kind,
            {"exp": "radial 1 - exp(-r/t)", "tanh": "radial tanh(r/t)"}[kind],
        )

    def log_q(self, z):
        check_tensor(z, "z", min_ndim=1)
        d = z.shape[-1]
        r = (z**2).sum(-1).sqrt().clamp(min=1e-12)
        log_dpsi = (
            -r if self.kind == "exp" else -2 * torch.log(torch.cosh(r.clamp(max=300)))
        )
        return log_dpsi - (d - 1) * torch.log(r)

    def sample_z(self, n, d, generator=None):
        check_generator(generator)
        n, d = check_int(n, "n", min_value=1), check_int(d, "d", min_value=1)
        u = torch.rand(n, 1, generator=generator, dtype=torch.float64).clamp(
            max=1 - 1e-16
        )
        r = -torch.log1p(-u) if self.kind == "exp" else torch.atanh(u)
        return r * _unit_directions(n, d, generator)

    def __repr__(self) -> str:
        return f"RadialCDFKernel({self.kind!r})"


def _check(x, data, kernel, x_name="x"):
    check_tensor(x, x_name, ndim=2, finite=True)
    check_tensor(data, "data", ndim=2, finite=True, nonempty=True)
    if x.shape[1] != data.shape[1]:
        raise ValueError(
            f"{x_name} and data must have the same dimension, got {x.shape[1]} and "
            f"{data.shape[1]}"
        )
    if not isinstance(kernel, ScaleKernel):
        raise TypeError(f"kernel must be a ScaleKernel, got {type(kernel).__name__}")


def empirical_posterior_mean(
    x: torch.Tensor, t: float, data: torch.Tensor, kernel: ScaleKernel
) -> torch.Tensor:
    """``E[x0 | x_t = x]`` for the empirical law of ``data`` (M, D) under ``x_t = x0 + t
    z``; x (N, D) -> (N, D)."""
    _check(x, data, kernel)
    t = check_positive(t, "t")
    logw = kernel.log_q(
        (x[:, None, :] - data[None]) / t
    )  # (N, M); t^-d is common to all i
    return torch.softmax(logw, dim=1) @ data


def empirical_velocity(
    x: torch.Tensor, t: float, data: torch.Tensor, kernel: ScaleKernel
) -> torch.Tensor:
    """The exact marginal field ``f_t(x) = (x - E[x0 | x_t = x]) / t`` (eq.
    ode-construction-field, ours)."""
    t = check_positive(t, "t")
    return (x - empirical_posterior_mean(x, t, data, kernel)) / t


def prior_sample(
    data: torch.Tensor,
    T: float,
    kernel: ScaleKernel,
    n: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Exact draws of ``p_T``: ``x0 + T z`` with x0 uniform over ``data`` (M, D).
    Returns (n, D) float64 on ``data``'s device.

    The draws are made on the generator's device (the CPU when ``generator`` is None)
    and then moved, so a seed gives the same points on every device.
    """
    check_tensor(data, "data", ndim=2, finite=True, nonempty=True)
    if not isinstance(kernel, ScaleKernel):
        raise TypeError(f"kernel must be a ScaleKernel, got {type(kernel).__name__}")
    check_generator(generator)
    T, n = check_positive(T, "T"), check_int(n, "n", min_value=1)
    with torch.device(generator.device if generator is not None else "cpu"):
        idx = torch.randint(0, data.shape[0], (n,), generator=generator)
        z = kernel.sample_z(n, data.shape[1], generator)
    return data[idx.to(data.device)].double() + T * z.to(data.device)


class LogTimeField:
    """The exact field of an empirical data set in the clock ``tau = log t``: ``dx/dtau
    = x - E[x0 | x_t = x]``.

    Callable as ``field(tau, x)`` (the order of :func:`kexue.diffusion.ode_solve`);
    counts calls in ``.nfe``.
    """

    def __init__(self, data: torch.Tensor, kernel: ScaleKernel):
        check_tensor(data, "data", ndim=2, finite=True, nonempty=True)
        if not isinstance(kernel, ScaleKernel):
            raise TypeError(
                f"kernel must be a ScaleKernel, got {type(kernel).__name__}"
            )
        self.data, self.kernel, self.nfe = data, kernel, 0

    def __call__(self, tau, x):  # dx/dtau = x - E[x0 | x_t = x], t = e^tau
        self.nfe += 1
        return x - empirical_posterior_mean(
            x, math.exp(float(tau)), self.data, self.kernel
        )


def scale_ode_sample(
    data: torch.Tensor,
    kernel: ScaleKernel,
    x_T: torch.Tensor,
    T: float,
    *,
    t_min: float = 1e-3,
    rtol: float = 1e-4,
    atol: float = 1e-4,
) -> tuple[torch.Tensor, dict]:
    """Integrate the exact field backwards from ``x_T`` at time T to ``t_min`` in the
    clock ``tau = log t`` (adaptive dopri5). Returns ``(x_{t_min}, {"nfe": field
    evaluations})``."""
    _check(x_T, data, kernel, "x_T")
    T, t_min = check_positive(T, "T"), check_positive(t_min, "t_min")
    if not t_min < T:
        raise ValueError(f"need t_min < T, got t_min={t_min}, T={T}")
    field = LogTimeField(data.double(), kernel)
    x = ode_solve(
        field,
        x_T.double(),
        math.log(T),
        math.log(t_min),
        method="dopri5",
        rtol=rtol,
        atol=atol,
    )
    return x, {"nfe": field.nfe}


def pfgm_perturb_original(
    x0: torch.Tensor,
    *,
    sigma: float = 0.01,
    tau: float = 0.03,
    M: float = 291,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The PFGM paper's perturbation as the post restates it: ``(e_x, e_t) ~ N(0,
    sigma^2 I_{d+1})``, ``m ~ U[0, M]``, ``u`` uniform on the sphere; ``x_t = x0 +
    |e_x| (1 + tau)^m u``, ``t = |e_t| (1 + tau)^m``.

    x0 (N, D). Returns ``(x_t, t)`` with t (N,). (The default sigma, tau, M are
    placeholders: only the ratio ``(x_t - x0) / t`` is used in the chapter, and it
    does not depend on them.)
    """
    check_tensor(x0, "x0", ndim=2, finite=True)
    check_generator(generator)
    n, d = x0.shape
    check_positive(sigma, "sigma")
    check_positive(tau, "tau", allow_zero=True)
    check_positive(M, "M", allow_zero=True)
    e = sigma * torch.randn(n, d + 1, generator=generator, dtype=torch.float64)
    m = M * torch.rand(n, 1, generator=generator, dtype=torch.float64)
    scale = (1 + tau) ** m
    x_t = x0.double() + e[:, :d].norm(dim=1, keepdim=True) * scale * _unit_directions(
        n, d, generator
    )
    return x_t, (e[:, d:].abs() * scale)[:, 0]
