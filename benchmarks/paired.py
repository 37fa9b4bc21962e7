"""Paired, interleaved timing: the one way the benchmarks compare two implementations.

Timing each configuration in its own process at a different moment lets the machine's
load decide the ratio (on a shared machine a re-run read 1.35x for kexue vs SDPA where
this paired measurement reads 1.00x). Here every repetition runs *all* contenders back
to back in one process, in a rotated order (no contender is always first), and the
comparison is the ratio of their times *within* a repetition; load that changes between
repetitions cancels. We report the median of those per-repetition ratios and its spread
(the interquartile range, IQR).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable


def paired_times(
    fns: dict[str, Callable[[], object]],
    *,
    min_reps: int = 15,
    max_reps: int = 101,
    budget_s: float = 3.0,
    block_s: float = 0.02,
) -> dict[str, list[float]]:
    """Seconds per call of each function, one entry per repetition (rotated order).

    Each function is warmed up and calibrated first: a sample is a block of ``inner``
    back-to-back calls lasting about ``block_s`` (so one scheduler hiccup of a few ms
    does not decide a 1 ms call), divided by ``inner``. Repetitions continue until
    ``min_reps`` are done and ``budget_s`` has passed, or ``max_reps``.
    """
    names = list(fns)
    inner = {}
    for name, f in fns.items():
        f()  # warm-up
        t = time.perf_counter()
        f()
        inner[name] = max(1, math.ceil(block_s / max(time.perf_counter() - t, 1e-6)))
    times: dict[str, list[float]] = {n: [] for n in names}
    start = time.perf_counter()
    rep = 0
    while rep < max_reps and (rep < min_reps or time.perf_counter() - start < budget_s):
        k = rep % len(names)
        for name in names[k:] + names[:k]:
            f, m = fns[name], inner[name]
            t = time.perf_counter()
            for _ in range(m):
                f()
            times[name].append((time.perf_counter() - t) / m)
        rep += 1
    return times


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def ratio_summary(times: dict[str, list[float]], name: str, base: str) -> dict:
    """Median and IQR of the per-repetition ratios ``time[name] / time[base]``."""
    ratios = [a / b for a, b in zip(times[name], times[base], strict=True)]
    q1, med, q3 = quartiles(ratios)
    return {"median": med, "q1": q1, "q3": q3, "pairs": len(ratios)}


def fmt_ratio(s: dict) -> str:
    return f"{s['median']:.2f} [{s['q1']:.2f}, {s['q3']:.2f}]"
