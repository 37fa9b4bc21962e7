"""Linear attention and the feature maps that approximate ``exp(q . k)``.

Chapter: *attention/linear-attention-infinite* (post 8601). Softmax attention is kernel
attention with ``kappa(q, k) = exp(q . k)``; a feature map ``phi`` with
``phi(q) . phi(k) ~ exp(q . k)`` turns it into linear attention, computed in ``O(n)`` by
associativity. The constructions here: Performer's positive random features (eq.
``lai-performer``), the truncated Taylor series (``lai-taylor``, plain and symmetric),
and the limit ``(1 + q.k/n)^n`` (``lai-limit``). To emulate ``softmax(q k^T / sqrt(d))``
feed ``q / d**0.25`` and ``k / d**0.25`` to the feature maps.

These run inside training loops: NaN/inf in q, k, v propagates as in torch (not
checked).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch

from ._checks import (
    check_bool,
    check_choice,
    check_float_tensor,
    check_generator,
    check_int,
    check_real,
    check_tensor,
    has_values,
)

__all__ = [
    "linear_attention",
    "kernel_attention",
    "exp_kernel",
    "elu_plus_one",
    "draw_gaussian_projection",
    "positive_random_features",
    "PerformerFeatures",
    "taylor_features",
    "exp_limit_features",
    "feature_dim",
    "exp_feature_map",
    "numerical_rank",
]


def _check_qk(q, k, nq="q", nk="k"):
    for name, t in ((nq, q), (nk, k)):
        check_float_tensor(t, name, min_ndim=2)
    if q.dtype != k.dtype:
        raise TypeError(
            f"{nq} and {nk} must share a dtype, got {q.dtype} and {k.dtype}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{nq} and {nk} must have the same feature dim, got {tuple(q.shape)} and "
            f"{tuple(k.shape)}"
        )
    if q.shape[:-2] != k.shape[:-2]:
        raise ValueError(
            f"{nq} and {nk} must share leading (batch) dims, got {tuple(q.shape)} and "
            f"{tuple(k.shape)}"
        )


def _check(q, k, v):
    _check_qk(q, k)
    check_float_tensor(v, "v", min_ndim=2)
    if v.dtype != q.dtype:
        raise TypeError(f"v must have the dtype of q ({q.dtype}), got {v.dtype}")
    if k.shape[:-1] != v.shape[:-1]:
        raise ValueError(
            f"k and v must agree except in the last dim, got {tuple(k.shape)} and "
            f"{tuple(v.shape)}"
        )


def exp_kernel(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``exp(q @ k^T)``, ``(..., Lq, d), (..., Lk, d) -> (..., Lq, Lk)``: the kernel
    softmax attention uses (no max shift: overflows where ``q . k`` exceeds ~88 in
    float32)."""
    _check_qk(q, k)
    return torch.exp(q @ k.transpose(-2, -1))


def kernel_attention(q, k, v, kernel: Callable, *, mask=None) -> torch.Tensor:
    """Quadratic reference ``a_ij = kappa(q_i, k_j) / sum_j kappa(q_i, k_j)``,
    ``(..., Lq, d), (..., Lk, d), (..., Lk, dv) -> (..., Lq, dv)``; the oracle for
    :func:`linear_attention`. ``kernel(q, k)`` must return ``(..., Lq, Lk)``; ``mask``
    bool
    (``True`` = may attend); a row that sees no key (or has zero kernel mass) is 0."""
    _check(q, k, v)
    if not callable(kernel):
        raise TypeError(f"kernel must be callable, got {type(kernel).__name__}")
    target = tuple(q.shape[:-1]) + (k.shape[-2],)
    a = kernel(q, k)
    if not isinstance(a, torch.Tensor) or tuple(a.shape) != target:
        got = tuple(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__
        raise ValueError(f"kernel must return a tensor of shape {target}, got {got}")
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError("mask must be a bool torch.Tensor (True = may attend)")
        try:
            ok = torch.broadcast_shapes(mask.shape, target) == torch.Size(target)
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to {target}"
            )
        a = a.masked_fill(~mask, 0.0)
    den = a.sum(-1, keepdim=True)
    return (a / torch.where(den == 0, torch.ones_like(den), den)) @ v.to(a.dtype)


def _feature_maps(feature_map):
    """``(phi_q, phi_k)``: an object with ``query``/``key`` methods (stabilised features
    such as :class:`PerformerFeatures`) gives those, a plain callable is used for both.
    """
    if callable(getattr(feature_map, "query", None)) and callable(
        getattr(feature_map, "key", None)
    ):
        return feature_map.query, feature_map.key
    if not callable(feature_map):
        raise TypeError(
            f"feature_map must be callable, got {type(feature_map).__name__}"
        )
    return feature_map, feature_map


def _apply_map(phi, x, name):
    f = phi(x)
    if (
        not isinstance(f, torch.Tensor)
        or not f.is_floating_point()
        or f.shape[:-1] != x.shape[:-1]
    ):
        got = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
        raise ValueError(
            f"feature_map must return a float tensor of shape {tuple(x.shape[:-1])} + "
            f"(m,) for {name}, got {got}"
        )
    return f


def linear_attention(
    q,
    k,
    v,
    feature_map: Callable,
    *,
    causal: bool = False,
    eps: float = 0.0,
    chunk_size: int = 64,
) -> torch.Tensor:
    """``O(n)`` attention with ``a_ij ∝ phi(q_i) . phi(k_j)``;
    ``(..., L, d) -> (..., L, dv)``.

    Bidirectional: ``phi(Q) (phi(K)^T V) / (phi(Q) phi(K)^T 1)``. Causal (top-left,
    ``Lq == Lk``): chunks of ``chunk_size`` rows, quadratic inside a chunk and a running
    state ``sum phi(k) v^T`` between chunks. ``eps >= 0`` is added to the denominators
    (0 by default: exact). ``feature_map`` is a callable ``(..., L, d) -> (..., L, m)``,
    or an object with ``query(x)`` and ``key(x)`` methods (:class:`PerformerFeatures`):
    their features may differ from ``phi`` by one factor per query row and one per key
    sequence, which cancel in the ratio (the max-stabiliser). A feature map whose
    normaliser ``phi(q_i) . sum_j phi(k_j)`` is not positive (e.g. the identity) is
    rejected (``ValueError``); NaN propagates.
    """
    _check(q, k, v)
    phi_q, phi_k = _feature_maps(feature_map)
    causal = check_bool(causal, "causal")
    eps = check_real(eps, "eps", low=0.0)
    chunk_size = check_int(chunk_size, "chunk_size", min_value=1)
    if causal and q.shape[-2] != k.shape[-2]:
        raise ValueError(
            "causal linear attention needs q and k of one length (Lq == Lk)"
        )
    fq, fk = _apply_map(phi_q, q, "q"), _apply_map(phi_k, k, "k")  # (..., L, m)
    if fq.shape[-1] != fk.shape[-1]:
        raise ValueError(
            f"feature_map must give q and k the same feature dim, got {fq.shape[-1]} "
            f"and {fk.shape[-1]}"
        )
    v = v.to(fq.dtype)
    if not causal:
        kv = fk.transpose(-2, -1) @ v  # (..., m, dv)
        den = fq @ fk.sum(-2)[..., None]  # (..., Lq, 1)
        _check_den(den, eps)
        return (fq @ kv) / (den + eps)
    n = q.shape[-2]
    state = fk.new_zeros(fk.shape[:-2] + (fk.shape[-1], v.shape[-1]))  # (..., m, dv)
    zsum = fk.new_zeros(fk.shape[:-2] + (fk.shape[-1],))  # (..., m)
    outs = []
    for s in range(0, n, chunk_size):
        e = min(s + chunk_size, n)
        qc, kc, vc = fq[..., s:e, :], fk[..., s:e, :], v[..., s:e, :]
        a = torch.tril(qc @ kc.transpose(-2, -1))  # (..., c, c) inside the chunk
        num = a @ vc + qc @ state
        den = a.sum(-1, keepdim=True) + qc @ zsum[..., None]
        _check_den(den, eps)
        outs.append(num / (den + eps))
        state = state + kc.transpose(-2, -1) @ vc
        zsum = zsum + kc.sum(-2)
    return torch.cat(outs, dim=-2)


def _check_den(den, eps):
    if not has_values(den):
        return
    if bool((den < 0).any()) or (eps == 0 and bool((den == 0).any())):
        raise ValueError(
            "feature_map gives a non-positive normaliser phi(q_i) . sum_j phi(k_j) for "
            "some query; use a positive feature map (elu_plus_one, PerformerFeatures)"
        )


def elu_plus_one(x: torch.Tensor) -> torch.Tensor:
    """``elu(x) + 1`` (Katharopoulos et al.), a positive feature map
    ``(..., d) -> (..., d)``.
    """
    check_tensor(x, "x")
    return torch.nn.functional.elu(x) + 1


def draw_gaussian_projection(
    d: int, m: int, *, orthogonal: bool = True, generator=None, dtype=torch.float64
) -> torch.Tensor:
    """``(m, d)`` matrix of Gaussian directions ``omega``.

    ``orthogonal=True``: blocks of ``d`` mutually orthogonal rows (QR of a Gaussian
    matrix) with row norms drawn from the chi distribution with ``d`` degrees of
    freedom, so each row is still marginally ``N(0, I_d)`` (Performer's orthogonal
    random features).
    """
    d, m = check_int(d, "d", min_value=1), check_int(m, "m", min_value=1)
    orthogonal = check_bool(orthogonal, "orthogonal")
    check_generator(generator)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    dev = generator.device if generator is not None else None
    if not orthogonal:
        return torch.randn(m, d, generator=generator, dtype=dtype, device=dev)
    blocks = []
    for _ in range(math.ceil(m / d)):
        g = torch.randn(d, d, generator=generator, dtype=dtype, device=dev)
        qm, r = torch.linalg.qr(g)
        qm = qm * torch.sign(torch.diagonal(r))[None, :]  # unique, Haar-distributed
        norms = torch.randn(d, d, generator=generator, dtype=dtype, device=dev).norm(
            dim=1
        )  # chi_d
        blocks.append(qm.T * norms[:, None])
    return torch.cat(blocks)[:m]


STABILIZE = (None, "query", "key")


def positive_random_features(
    x: torch.Tensor, omega: torch.Tensor, *, stabilize: str | None = None
) -> torch.Tensor:
    """Performer's ``phi(x) = exp(omega x - |x|^2/2) / sqrt(m)``,
    ``(..., d) -> (..., m)`` (eq. ``lai-performer``), with
    ``E[phi(q).phi(k)] = exp(q.k)`` over ``omega``.

    ``stabilize``: ``None`` gives ``phi`` itself (it overflows in float32 once
    ``omega x - |x|^2/2`` exceeds ~88, e.g. ``|x| ~ 10``). ``"query"`` divides each row
    by
    ``exp(c_i)``, ``c_i`` its largest exponent; ``"key"`` divides all rows of one
    sequence
    ``(..., L, m)`` by one ``exp(c)``, the largest exponent over ``L`` and ``m``
    (performer-pytorch's ``softmax_kernel``). Both factors cancel in the attention ratio
    of
    :func:`linear_attention`, so the estimator is unchanged; the largest feature is then
    ``1/sqrt(m)``. Computed in x's dtype (float; omega is cast to it).
    """
    check_float_tensor(x, "x", min_ndim=1)
    check_float_tensor(omega, "omega", ndim=2)
    if stabilize not in STABILIZE:
        raise ValueError(f"stabilize must be one of {STABILIZE}, got {stabilize!r}")
    if omega.shape[1] != x.shape[-1]:
        raise ValueError(
            f"x has feature dim {x.shape[-1]} but omega has shape "
            f"{tuple(omega.shape)}: omega must be (m, d) with d the last dim of x"
        )
    if stabilize == "key" and x.ndim < 2:
        raise ValueError(
            f"x must be (..., L, d) for stabilize='key', got {tuple(x.shape)}"
        )
    m = omega.shape[0]
    proj = x @ omega.to(x.device, x.dtype).T  # (..., m)
    expo = proj - x.square().sum(-1, keepdim=True) / 2
    if stabilize == "query":
        expo = expo - expo.amax(-1, keepdim=True).detach()
    elif stabilize == "key":
        expo = expo - expo.amax(dim=(-2, -1), keepdim=True).detach()
    return torch.exp(expo) / math.sqrt(m)


class PerformerFeatures(torch.nn.Module):
    """A fixed draw ``omega (m, d)`` of positive random features; ``forward`` is ``phi``
    (:func:`positive_random_features`), ``query``/``key`` its max-stabilised forms,
    which
    :func:`linear_attention` uses. :meth:`redraw` draws ``omega`` anew."""

    def __init__(self, d: int, m: int, *, orthogonal: bool = True, seed: int = 0):
        super().__init__()
        self.d, self.m = check_int(d, "d", min_value=1), check_int(m, "m", min_value=1)
        self.orthogonal = check_bool(orthogonal, "orthogonal")
        seed = check_int(seed, "seed", min_value=0)
        self.register_buffer(
            "omega",
            draw_gaussian_projection(
                d,
                m,
                orthogonal=orthogonal,
                generator=torch.Generator().manual_seed(seed),
            ),
        )

    def redraw(self, generator=None) -> None:
        """Draw a new ``omega`` (same size, dtype and device) from ``generator``."""
        check_generator(generator)
        self.omega = draw_gaussian_projection(
            self.d, self.m, orthogonal=self.orthogonal, generator=generator
        ).to(self.omega.device, self.omega.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``phi(x)``, ``(..., d) -> (..., m)``."""
        return positive_random_features(x, self.omega)

    def query(self, x: torch.Tensor) -> torch.Tensor:
        """``phi(x)`` divided by its row maximum's factor,
        ``(..., L, d) -> (..., L, m)``.
        """
        return positive_random_features(x, self.omega, stabilize="query")

    def key(self, x: torch.Tensor) -> torch.Tensor:
        """``phi(x)`` divided by one factor per sequence,
        ``(..., L, d) -> (..., L, m)``.
        """
        return positive_random_features(x, self.omega, stabilize="key")


def _kron_power(y: torch.Tensor, n: int) -> torch.Tensor:
    out = y
    for _ in range(n - 1):
        out = (out[..., :, None] * y[..., None, :]).flatten(-2)  # (..., D*d)
    return out


def taylor_features(
    x: torch.Tensor, order: int, *, symmetric: bool = False
) -> torch.Tensor:
    """``[1, x, x⊗x/sqrt(2!), ..., ⊗^order x/sqrt(order!)]``, ``(..., d) -> (..., D)``,
    so that ``phi(q).phi(k) = sum_m (q.k)^m / m!`` (eq. ``lai-taylor``).

    ``symmetric=True`` keeps one entry per monomial, weighted by ``sqrt(m!/alpha!)``
    (same inner product, ``C(d+order, order)`` entries instead of ``sum_m d^m``).
    """
    check_float_tensor(x, "x", min_ndim=1)
    order = check_int(order, "order", min_value=0)
    symmetric = check_bool(symmetric, "symmetric")
    d = x.shape[-1]
    parts = [torch.ones_like(x[..., :1])]
    for m in range(1, order + 1):
        if symmetric:
            combos = list(itertools.combinations_with_replacement(range(d), m))
            idx = torch.tensor(combos, device=x.device)  # (C, m)
            w = torch.tensor(
                [
                    math.sqrt(
                        1.0 / math.prod(math.factorial(c.count(i)) for i in set(c))
                    )
                    for c in combos
                ],
                dtype=x.dtype,
                device=x.device,
            )
            parts.append(x[..., idx].prod(-1) * w)  # (..., C)
        else:
            parts.append(_kron_power(x, m) / math.sqrt(math.factorial(m)))
    return torch.cat(parts, dim=-1)


def exp_limit_features(x: torch.Tensor, n: int) -> torch.Tensor:
    """``⊗^n [1, x/sqrt(n)]``, ``(..., d) -> (..., (d+1)^n)``, so that
    ``phi(q).phi(k) = (1 + q.k/n)^n`` (eq. ``lai-limit``)."""
    check_float_tensor(x, "x", min_ndim=1)
    n = check_int(n, "n", min_value=1)
    y = torch.cat([torch.ones_like(x[..., :1]), x / math.sqrt(n)], dim=-1)
    return _kron_power(y, n)


FEATURE_METHODS = ("taylor", "taylor_symmetric", "limit", "performer", "elu")


def feature_dim(d: int, method: str, param: int) -> int:
    """Output dimension: ``'taylor'`` sum d^m (m<=param), ``'taylor_symmetric'``
    C(d+param, param), ``'limit'`` (d+1)^param, ``'performer'`` param, ``'elu'`` d."""
    d, param = check_int(d, "d", min_value=1), check_int(param, "param", min_value=0)
    check_choice(method, "method", FEATURE_METHODS)
    table = {
        "taylor": lambda: sum(d**m for m in range(param + 1)),
        "taylor_symmetric": lambda: math.comb(d + param, param),
        "limit": lambda: (d + 1) ** param,
        "performer": lambda: param,
        "elu": lambda: d,
    }
    return table[method]()


EXP_FEATURE_MAPS = ("taylor", "limit", "performer")


def exp_feature_map(method: str, size: int, d: int, *, seed: int = 0):
    """One of the three feature maps for ``exp(q.k)`` of chapter
    linear-attention-infinite: eqs. ``lai-taylor``, ``lai-limit``, ``lai-performer``.

    ``size`` is the Taylor order, the limit's ``n`` or Performer's number of features
    ``m`` (drawn with ``seed``, orthogonal); ``d`` is the input dimension. Returns
    ``(phi, scalar, label)``: the feature map ``phi`` (``(..., d) -> (..., D)``), the
    scalar approximant of ``e^x`` that ``phi(q).phi(k)`` equals as a function of a
    tensor ``x = q.k`` (``None`` for Performer, whose kernel is random), and a label.
    """
    check_choice(method, "method", EXP_FEATURE_MAPS)
    size = check_int(size, "size", min_value=1)
    d = check_int(d, "d", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    if method == "taylor":
        return (
            lambda x: taylor_features(x, size),
            lambda x: sum(x**m / math.factorial(m) for m in range(size + 1)),
            f"Taylor order {size}",
        )
    if method == "limit":
        return (
            lambda x: exp_limit_features(x, size),
            lambda x: (1 + x / size) ** size,
            f"limit n = {size}",
        )
    return PerformerFeatures(d, size, seed=seed), None, f"Performer m = {size}"


def numerical_rank(a: torch.Tensor, *, rtol: float = 1e-10) -> int:
    """Number of singular values of ``a (..., M, N)`` above ``rtol`` times the largest:
    a thin wrapper of ``torch.linalg.matrix_rank(a, rtol=rtol)`` that returns a Python
    int for one matrix (the rank argument of chapter
    *attention/linear-attention-infinite*). ``a`` must be finite; ``rtol`` in
    ``(0, 1)``."""
    check_float_tensor(a, "a", ndim=2)
    if not bool(torch.isfinite(a).all()):
        raise ValueError("a must be finite (no NaN/inf entries)")
    rtol = check_real(rtol, "rtol", low=0.0, high=1.0, low_open=True, high_open=True)
    return int(torch.linalg.matrix_rank(a, rtol=rtol))
