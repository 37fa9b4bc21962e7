"""The birthday problem and the article's other everyday puzzles (chapter
*appendix/birthday*).

Equation labels are those of the chapter: ``bday-exact`` (``P(no shared) =
N! / ((N - n)! N^n)``), ``bday-bound`` (``P(shared) >= 1 - exp(-n(n-1)/2N)``),
``bday-median`` (``n ~ 1/2 + sqrt(1/4 + 2 N ln 2)``), ``bday-pairs`` (expected number
of sharing pairs ``C(n, 2) / N``), ``bday-weighted`` (``P(no shared) = n! e_n(w)`` for
day probabilities ``w``), ``bday-socks`` (``c + 1`` socks) and ``bday-fingers``
(``9k = 10 (k - 1) + (10 - k)``).

Conventions: ``n`` people, ``N`` equally likely days unless ``weights`` are given;
probabilities are float64 numbers (NumPy scalars or arrays shaped like ``n``); the
exact rational of ``bday-exact`` is a :class:`fractions.Fraction`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import torch
from scipy.special import gammaln

from .._validate import check_choice, check_generator, check_int, check_prob, check_real

__all__ = [
    "p_shared_exact",
    "p_shared",
    "p_shared_approx",
    "n_for_probability",
    "expected_shared_pairs",
    "p_shared_weighted",
    "seasonal_weights",
    "Simulation",
    "sample_days",
    "simulate_shared",
    "calendar_counts",
    "expected_first_repeat",
    "simulate_first_repeat",
    "simulate_parties",
    "socks_for_pair",
    "nine_times_fingers",
]


# ------------------------------------------------------------------------- validation
def _people(n, name: str = "n") -> np.ndarray:
    """``n`` as an int64 array (a scalar stays 0-d); every entry an int >= 1."""
    if isinstance(n, torch.Tensor):
        n = n.detach().cpu().numpy()
    if isinstance(n, (bool, np.bool_)) or n is None or isinstance(n, (str, bytes)):
        raise TypeError(f"{name} must be an int or an array of ints, got {n!r}")
    if isinstance(n, (list, tuple)) and any(
        isinstance(v, (bool, np.bool_)) for v in np.asarray(n, dtype=object).flat
    ):
        raise TypeError(f"{name} must hold ints, not bools")
    try:
        arr = np.asarray(n)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an int or an array of ints") from err
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold ints, got dtype {arr.dtype}")
    if (arr < 1).any():
        raise ValueError(f"{name} must be >= 1 everywhere, got min {arr.min()}")
    return arr.astype(np.int64)


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _days(N) -> int:
    return check_int(N, "N", min_value=1)


def _weights(weights, name: str = "weights") -> np.ndarray:
    """A probability vector (D,) as float64: finite, >= 0, summing to 1 (1e-9)."""
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().cpu().numpy()
    if weights is None or isinstance(weights, (str, bytes, dict)):
        raise TypeError(f"{name} must be a 1-D array of probabilities, got {weights!r}")
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a 1-D array of probabilities") from err
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{name} must be finite and >= 0")
    if abs(w.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name} must sum to 1, got {w.sum():.12g}")
    return w


def _log_p_none(n: np.ndarray, N: int) -> np.ndarray:
    """log P(no shared); -inf where n > N (pigeonhole).

    ``sum_{i<n} log1p(-i/N)`` by a cumulative sum (round-off ~1e-16 per term) while
    ``max n <= 10**6``; beyond, ``gammaln`` (absolute error ~1e-16 * N log N).
    """
    out = np.full(n.shape, -np.inf)
    ok = n <= N
    top = int(n[ok].max()) if ok.any() else 0
    if top <= 10**6:
        terms = np.log1p(-np.arange(top, dtype=np.float64) / N)
        table = np.concatenate([[0.0], np.cumsum(terms)])  # table[m] = log P(none, m)
        out[ok] = table[n[ok]]
    else:
        m = n[ok].astype(np.float64)
        out[ok] = gammaln(N + 1.0) - gammaln(N - m + 1.0) - m * math.log(N)
    return out


# ----------------------------------------------------------------------------- exact
def p_shared_exact(n: int, N: int = 365) -> Fraction:
    """P(at least two of ``n`` people share a day), as an exact rational.

    ``1 - N (N-1) ... (N-n+1) / N^n`` in integer arithmetic (chapter
    *appendix/birthday*, eq. ``bday-exact``); 1 when ``n > N``.
    """
    n, N = check_int(n, "n", min_value=1), _days(N)
    return 1 - Fraction(math.perm(N, n), N**n)


def p_shared(n, N: int = 365, complement: bool = False) -> np.ndarray:
    """P(shared) for ``n`` people (int or int array, any shape) and ``N`` days.

    Float64, by ``gammaln`` so factorials never overflow (eq. ``bday-exact``);
    exactly 1.0 where ``n > N``. With ``complement`` it returns ``P(no shared)``
    instead, which keeps its digits where ``P(shared)`` rounds to 1 (``n = 365``:
    ``1.45e-157``). Returns an array shaped like ``n``.
    """
    n, N = _people(n), _days(N)
    if _flag(complement, "complement"):
        return np.exp(_log_p_none(n, N))
    return -np.expm1(_log_p_none(n, N))


def p_shared_approx(n, N: int = 365, kind: str = "pairs") -> np.ndarray:
    """The exponential approximations of P(shared), shaped like ``n``.

    ``kind="pairs"``: ``1 - exp(-n(n-1)/2N)``, a lower bound (eq. ``bday-bound``);
    ``kind="square"``: ``1 - exp(-n^2/2N)``, the cruder form, no bound either way.
    """
    n, N = _people(n).astype(np.float64), _days(N)
    kind = check_choice(kind, "kind", ("pairs", "square"))
    pairs = n * (n - 1) if kind == "pairs" else n * n
    return -np.expm1(-pairs / (2.0 * N))


def n_for_probability(p: float, N: int = 365) -> int:
    """The smallest ``n`` with ``P(shared) >= p`` (``p`` in [0, 1]; ``N + 1`` for 1).

    Bisection on the decreasing ``log P(no shared)`` (eq. ``bday-exact``).
    """
    p, N = check_prob(p, "p"), _days(N)
    if p == 0.0:
        return 1
    target = math.log1p(-p) if p < 1.0 else -math.inf
    lo, hi = 1, N + 1  # log P(none) at hi is -inf <= target
    while lo < hi:
        mid = (lo + hi) // 2
        if _log_p_none(np.array([mid]), N)[0] <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def expected_shared_pairs(n, N: int = 365) -> np.ndarray:
    """Expected number of pairs with the same day, ``C(n, 2) / N`` (eq. ``bday-pairs``).

    By linearity of expectation over the ``C(n, 2)`` pairs, each sharing with
    probability ``1/N``; shaped like ``n``.
    """
    n, N = _people(n).astype(np.float64), _days(N)
    return n * (n - 1) / (2.0 * N)


def p_shared_weighted(n, weights, complement: bool = False) -> np.ndarray:
    """P(shared) when each person's day is drawn from ``weights`` (shape (D,)).

    ``P(no shared) = n! e_n(w)`` with ``e_n`` the elementary symmetric polynomial
    (eq. ``bday-weighted``), computed by the recursion ``e_k <- e_k + w_d e_{k-1}``
    over the days in float64 (all terms positive: no cancellation). Each ``e_k`` is
    scaled by ``k!`` as it is built, so nothing under- or overflows for ``n <= D``.
    Returns an array shaped like ``n``; 1.0 where ``n`` exceeds the days of
    non-zero weight. With ``complement``, ``P(no shared)`` itself (its digits survive
    where ``P(shared)`` rounds to 1).
    """
    n = _people(n)
    w = _weights(weights)
    complement = _flag(complement, "complement")
    top = int(n.max())
    e = np.zeros(top + 1)  # e[k] = k! e_k(w_1..w_d), days so far
    e[0] = 1.0
    k = np.arange(1, top + 1, dtype=np.float64)
    for wd in w:
        e[1:] = e[1:] + k * wd * e[:-1]  # k! e_k += k wd (k-1)! e_{k-1}
    none = np.clip(e[n], 0.0, 1.0)
    return none if complement else 1.0 - none


def seasonal_weights(
    amplitude: float = 0.1, peak_day: int = 250, leap_day: bool = True
) -> np.ndarray:
    """Day probabilities ``∝ 1 + amplitude cos(2π (d - peak_day) / 365)``, (365,) or
    (366,).

    With ``leap_day`` a 29 February (index 59, after 31 + 28 days) is inserted with a
    quarter of the mean weight, as one year in four has it. ``amplitude`` in [0, 1).
    """
    a = check_real(amplitude, "amplitude", low=0.0, high=1.0, high_open=True)
    d0 = check_int(peak_day, "peak_day", min_value=0, max_value=364)
    leap_day = _flag(leap_day, "leap_day")
    w = 1.0 + a * np.cos(2 * np.pi * (np.arange(365) - d0) / 365)
    if leap_day:
        w = np.insert(w, 59, 0.25 * w.mean())
    return w / w.sum()


# ------------------------------------------------------------------------ simulation
class Simulation(NamedTuple):
    """Monte-Carlo estimates over ``trials`` groups of ``n`` people."""

    p_shared: float  # fraction of groups with a shared day
    se: float  # its standard error, sqrt(p (1 - p) / trials)
    mean_pairs: float  # mean number of sharing pairs per group
    se_pairs: float  # its standard error


def sample_days(
    n: int,
    N: int = 365,
    trials: int = 1,
    generator: torch.Generator | None = None,
    weights=None,
) -> np.ndarray:
    """Birthdays of ``trials`` groups of ``n`` people: (trials, n) day indices.

    Uniform on ``0..N-1``, or drawn from ``weights`` (shape (N,)) by inverse CDF on
    float64 uniforms (chapter *appendix/birthday*, the simulation of eq.
    ``bday-exact`` and ``bday-weighted``).
    """
    n, N = check_int(n, "n", min_value=1), _days(N)
    trials = check_int(trials, "trials", min_value=1)
    generator = check_generator(generator)
    if weights is None:
        return torch.randint(0, N, (trials, n), generator=generator).numpy()
    w = _weights(weights)
    if w.size != N:
        raise ValueError(f"weights must have N = {N} entries, got {w.size}")
    cdf = torch.from_numpy(np.cumsum(w))
    u = torch.rand(trials, n, generator=generator, dtype=torch.float64)
    return torch.searchsorted(cdf, u * cdf[-1]).clamp_(max=N - 1).numpy()


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def calendar_counts(days, leap_day: bool = False) -> np.ndarray:
    """People per calendar day, as a (12, 31) array: row = month, column = day - 1.

    ``days`` are day indices (any shape) of a 365-day year, or of a 366-day year
    with ``leap_day`` (index 59 = 29 February, as in :func:`seasonal_weights`).
    Cells that are no date (30 February, 31 April, ...) hold -1; so does 29
    February without ``leap_day``.
    """
    leap_day = _flag(leap_day, "leap_day")
    D = 366 if leap_day else 365
    d = np.asarray(days)
    if d.dtype.kind not in "iu":
        raise TypeError(f"days must hold ints, got dtype {d.dtype}")
    if d.size and (d.min() < 0 or d.max() >= D):
        raise ValueError(f"days must lie in 0..{D - 1}, got {d.min()}..{d.max()}")
    counts = np.bincount(d.ravel(), minlength=D)
    grid = np.full((12, 31), -1, dtype=np.int64)
    k = 0
    for m, length in enumerate(_MONTH_DAYS):
        for day in range(length):
            if m == 1 and day == 28 and not leap_day:
                continue
            grid[m, day] = counts[k]
            k += 1
    return grid


def simulate_shared(
    n: int,
    N: int = 365,
    trials: int = 100_000,
    generator: torch.Generator | None = None,
    weights=None,
) -> Simulation:
    """Draw ``trials`` groups of ``n`` birthdays and count the shared ones.

    Days are uniform on ``N`` days, or drawn from ``weights`` (shape (N,)) by inverse
    CDF. Each group's days are sorted; a day repeated ``r`` times contributes
    ``r (r - 1) / 2`` pairs (the within-run positions summed).
    """
    n, N = check_int(n, "n", min_value=1), _days(N)
    trials = check_int(trials, "trials", min_value=2)
    days = torch.from_numpy(sample_days(n, N, trials, generator, weights))  # (T, n)
    days = days.sort(dim=1).values
    new_run = torch.ones_like(days, dtype=torch.bool)
    new_run[:, 1:] = days[:, 1:] != days[:, :-1]
    idx = torch.arange(n).expand(trials, n)
    run_start = torch.cummax(torch.where(new_run, idx, 0), dim=1).values
    pairs = (idx - run_start).sum(dim=1).double()  # (T,)
    shared = (~new_run[:, 1:]).any(dim=1).double()  # (T,)
    p = float(shared.mean())
    return Simulation(
        p_shared=p,
        se=math.sqrt(max(p * (1 - p), 1e-300) / trials),
        mean_pairs=float(pairs.mean()),
        se_pairs=float(pairs.std()) / math.sqrt(trials),
    )


def expected_first_repeat(N: int = 365) -> float:
    """Expected number of people, added one at a time, until a day repeats.

    ``E[T] = sum_{k=0}^{N} P(T > k) = sum_{k=0}^{N} P(no shared among k)`` (chapter
    *appendix/birthday*, eq. ``bday-first``), with ``P(no shared among 0 or 1) = 1``;
    the same number answers "socks drawn at random from ``N`` colours until a pair".
    Float64 by ``gammaln``; ``N`` up to ``10**7``.
    """
    N = check_int(N, "N", min_value=1, max_value=10**7)
    k = np.arange(1, N + 1)
    return float(1.0 + np.exp(_log_p_none(k, N)).sum())


def simulate_first_repeat(
    N: int = 365, trials: int = 10_000, generator: torch.Generator | None = None
) -> np.ndarray:
    """Monte Carlo of ``T``, the number of people until a day repeats, (trials,) ints.

    Each trial draws ``N + 1`` uniform days (a repeat is certain by then); after a
    stable sort, a position that is not the first of its run is a repeat, and the
    earliest such original position ``j`` gives ``T = j + 1``.
    """
    N = check_int(N, "N", min_value=1, max_value=10**5)
    trials = check_int(trials, "trials", min_value=1)
    generator = check_generator(generator)
    days = torch.randint(0, N, (trials, N + 1), generator=generator)  # (T, N+1)
    values, order = days.sort(dim=1, stable=True)
    repeat = torch.zeros_like(days, dtype=torch.bool)
    repeat[:, 1:] = values[:, 1:] == values[:, :-1]  # not the first of its run
    big = torch.full_like(order, N + 1)
    first = torch.where(repeat, order, big).min(dim=1).values  # (T,)
    return (first + 1).numpy()


def simulate_parties(
    n: int = 50,
    N: int = 365,
    repeats: int = 2_000,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """How many parties of ``n`` guests one attends until the first with no shared
    birthday, ``repeats`` times: (repeats,) ints >= 1.

    Geometric with success probability ``q = P(no shared)``: mean ``1/q``, median
    ``ceil(log 2 / -log(1 - q))`` (eq. ``bday-parties``). Every unfinished run
    draws one more party per round.
    """
    n, N = check_int(n, "n", min_value=1), _days(N)
    repeats = check_int(repeats, "repeats", min_value=1)
    generator = check_generator(generator)
    if n > N:
        raise ValueError(f"n must be <= N = {N}: every party of n > N shares a day")
    count = np.zeros(repeats, dtype=np.int64)
    alive = np.ones(repeats, dtype=bool)
    while alive.any():
        m = int(alive.sum())
        days = torch.randint(0, N, (m, n), generator=generator).sort(dim=1).values
        clean = ~(days[:, 1:] == days[:, :-1]).any(dim=1).numpy()  # (m,)
        count[alive] += 1
        idx = np.flatnonzero(alive)
        alive[idx[clean]] = False
    return count


# -------------------------------------------------------------- the other two puzzles
def socks_for_pair(colours: int) -> int:
    """Socks to draw, blind, to be sure of a matching pair: ``colours + 1``
    (pigeonhole, eq. ``bday-socks``; the drawer holds at least two of each colour)."""
    return check_int(colours, "colours", min_value=1) + 1


def nine_times_fingers(k: int) -> tuple[int, int]:
    """The finger trick for ``9 k``, ``k`` in 1..10 (eq. ``bday-fingers``).

    Number the ten fingers 1..10 from the left and bend finger ``k``: returns
    ``(fingers left of it, fingers right of it) = (k - 1, 10 - k)``, read as the tens
    and units of ``9 k``.
    """
    k = check_int(k, "k", min_value=1, max_value=10)
    return k - 1, 10 - k
