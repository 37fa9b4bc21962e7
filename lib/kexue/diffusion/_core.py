"""The few formulas every diffusion module shares, written once (ddim chapter, eqs.
ddim-marginal, ddim-x0hat).

* :func:`expand_time` — a scalar or per-row (B,) coefficient shaped to broadcast over a
  (B, *S) state;
* :func:`x0_from_eps` / :func:`eps_from_x0` — Tweedie's data estimate ``x0_hat = (x - b
  eps) / a`` and its inverse, for ``x = a x0 + b eps`` (``a`` = Su's signal, ``b`` =
  Su's noise);
* :func:`ddim_update` — the exact deterministic DDIM move between two noise levels with
  ``eps`` frozen;
* :func:`euler_maruyama_step` — ``x + drift h + g sqrt(h) z``, the one Euler–Maruyama
  step of the forward SDE, the reverse SDE and the generic SDE simulator;
* :class:`NFECounter` — the one wrapper through which every sampler and loss calls a
  model: it passes the times as a (B,) tensor, counts the calls and checks that the
  output is shaped like ``x`` (so a (B, 1) output never broadcasts silently).

Nothing here imports another part of :mod:`kexue.diffusion`.
"""

from __future__ import annotations

import math
import numbers

import torch

from .._validate import (
    check_bool,
    check_callable,
    check_generator,
    check_model_output,
    check_real,
    check_same_shape,
    check_tensor,
)

__all__ = [
    "expand_time",
    "x0_from_eps",
    "eps_from_x0",
    "ddim_update",
    "euler_maruyama_step",
    "check_model_output",
    "NFECounter",
]


def expand_time(v, like: torch.Tensor) -> torch.Tensor:
    """Shape a scalar or (B,) coefficient ``v`` to broadcast over ``like`` (B, *S), in
    ``like``'s dtype and device."""
    return _expand(v, like, "v", "like")


def _expand(v, like, name, like_name):
    check_tensor(like, like_name, min_ndim=1)
    if isinstance(v, bool) or not isinstance(v, numbers.Real | torch.Tensor):
        raise TypeError(
            f"{name} must be a number or a tensor of coefficients, got "
            f"{type(v).__name__}"
        )
    if not isinstance(v, torch.Tensor):
        v = torch.tensor(float(v), dtype=torch.float64)  # never via float32
    if not v.is_floating_point():
        raise TypeError(f"{name} must be a float number or tensor, got dtype {v.dtype}")
    if v.ndim == 0:
        return v.to(dtype=like.dtype, device=like.device)
    if v.ndim != 1 or v.shape[0] != like.shape[0]:
        raise ValueError(
            f"{name} (times or coefficients) must be a number or have shape "
            f"({like.shape[0]},), got {tuple(v.shape)}"
        )
    return v.to(dtype=like.dtype, device=like.device).reshape(
        -1, *([1] * (like.ndim - 1))
    )


def x0_from_eps(x: torch.Tensor, eps: torch.Tensor, a, b) -> torch.Tensor:
    """Tweedie's data estimate ``x0_hat = (x - b eps) / a`` (ddim chapter, eq.
    ddim-x0hat).

    x, eps: (B, *S); ``a`` (signal, > 0) and ``b`` (noise): numbers or (B,) tensors.
    NaN propagates (a helper used inside sampler loops).
    """
    check_tensor(x, "x", min_ndim=1)
    check_tensor(eps, "eps")
    check_same_shape(x, eps, "x", "eps")
    a_, b_ = _expand(a, x, "a", "x"), _expand(b, x, "b", "x")
    if torch.any(a_ <= 0):
        raise ValueError("a (the signal level) must be > 0")
    return (x - b_ * eps) / a_


def eps_from_x0(x: torch.Tensor, x0: torch.Tensor, a, b) -> torch.Tensor:
    """The noise implied by a data estimate, ``eps = (x - a x0) / b`` (needs ``b >
    0``)."""
    check_tensor(x, "x", min_ndim=1)
    check_tensor(x0, "x0")
    check_same_shape(x, x0, "x", "x0")
    a_, b_ = _expand(a, x, "a", "x"), _expand(b, x, "b", "x")
    if torch.any(b_ <= 0):
        raise ValueError("b (the noise level) must be > 0")
    return (x - a_ * x0) / b_


def ddim_update(
    x: torch.Tensor, eps: torch.Tensor, a: float, b: float, a_next: float, b_next: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The deterministic DDIM move from noise level ``(a, b)`` to ``(a_next, b_next)``
    (eq. ddim-update, eta = 0)::

        x0_hat = (x - b eps) / a
        x_next = a_next x0_hat + b_next eps

    Returns ``(x_next, x0_hat)``.
    """
    x0_hat = x0_from_eps(x, eps, a, b)
    return a_next * x0_hat + b_next * eps, x0_hat


def euler_maruyama_step(
    x: torch.Tensor, drift: torch.Tensor, g: float, h: float, z: torch.Tensor | None
) -> torch.Tensor:
    """One Euler–Maruyama step of ``dx = drift dt + g dw`` over a time step ``h > 0``
    (sde chapter, eq. sde-em)::

        x_next = x + drift h + g sqrt(h) z,    z ~ N(0, I)

    ``drift`` and ``z`` are shaped like ``x`` (B, *S); ``z = None`` takes the step
    without noise (the reverse SDE's last step). A reverse-time step passes the drift
    of the reversed equation, so ``h`` stays positive.
    """
    x_next = x + drift * h
    if z is not None:
        x_next = x_next + (g * math.sqrt(h)) * z
    return x_next


def check_sampler_args(
    model, x, *, generator=None, callback=None, progress=False, x_name="x"
) -> None:
    """The arguments every sampler shares: a callable model, a finite float state x (B,
    *S) (NaN/inf rejected at the entry), a generator or None, a callable or None
    callback, a bool."""
    check_callable(model, "model")
    check_tensor(x, x_name, min_ndim=1, finite=True)
    check_generator(generator)
    if callback is not None:
        check_callable(callback, "callback")
    check_bool(progress, "progress")


def check_time(t, name: str) -> float:
    """A finite real time (a number or a 0-d tensor) as a float."""
    return check_real(t, name)


class NFECounter:
    """Wrap an eps-model ``model(x, t)``: count calls in ``.nfe``, pass times as a (B,)
    tensor in x's dtype and device, and check that the output is shaped like ``x``.

    ``counter(x, t)``: x (B, *S); t a float (one time for the batch) or a (B,) tensor.
    """

    def __init__(self, model, name: str = "model"):
        check_callable(model, name)
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        self.model, self.name, self.nfe = model, name, 0

    def __call__(self, x: torch.Tensor, t) -> torch.Tensor:
        self.nfe += 1
        if isinstance(t, torch.Tensor) and t.ndim == 1:
            tt = t.to(dtype=x.dtype, device=x.device)
        else:
            tt = torch.full((x.shape[0],), float(t), dtype=x.dtype, device=x.device)
        return check_model_output(self.model(x, tt), x, self.name)
