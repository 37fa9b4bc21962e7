#!/usr/bin/env python
"""Speed and peak memory of kexue.attention against PyTorch's kernel; linear attention.

    python benchmarks/attention.py                # n = 256 ... 8192
    python benchmarks/attention.py --max-n 2048   # a shorter grid (a loaded machine)

Both write benchmarks/results/attention-cpu.md (and .json).

Compared (batch 1, 4 heads, head size 64, float32, one thread):

* ``sdpa``        torch.nn.functional.scaled_dot_product_attention, called directly
  (the peer);
* ``kexue``       kexue.attention.attention (dispatches to SDPA: the overhead of
  validation and dispatch);
* ``kexue-math``  the explicit path (backend="math"), up to n = 4096 (n x n matrices);
* ``linear-elu``  linear attention with elu(x)+1 features (d = 64);
* ``linear-perf`` linear attention with 256 Performer features.

Speed is measured *paired* (``benchmarks/paired.py``): in one process, every repetition
calls all five back to back in a rotated order, and each method is reported as the
median of its per-repetition ratio to ``sdpa``, with the interquartile range. Load on a
shared machine changes between repetitions far more than within one, so the ratio is
what survives it; absolute milliseconds (medians) are for orientation only. Peak memory
needs a process of its own: each configuration runs once more in a fresh subprocess,
which reports the rise of the peak resident set over its inputs (the peak is reset
first through ``/proc/self/clear_refs``, so the import's own peak cannot hide it).
Nothing here is asserted by the tests: speed is measured, not promised.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import kexue.attention as ka  # noqa: E402
from paired import fmt_ratio, paired_times, quartiles, ratio_summary  # noqa: E402

METHODS = ("sdpa", "kexue", "kexue-math", "linear-elu", "linear-perf")
MATH_MAX_N = 4096
B, H, D = 1, 4, 64


def functions(n: int, causal: bool) -> dict:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, H, n, D, generator=g) for _ in range(3))
    perf = ka.PerformerFeatures(D, 256, seed=0).float()
    s = D**-0.25
    fns = {
        "sdpa": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
        "kexue": lambda: ka.attention(q, k, v, is_causal=causal),
        "kexue-math": lambda: ka.attention(q, k, v, is_causal=causal, backend="math"),
        "linear-elu": lambda: ka.linear_attention(
            q, k, v, ka.elu_plus_one, causal=causal
        ),
        "linear-perf": lambda: ka.linear_attention(
            q * s, k * s, v, perf, causal=causal, eps=1e-6
        ),
    }
    if n > MATH_MAX_N:
        del fns["kexue-math"]
    return fns


CHILD = r"""
import resource, sys
import torch
sys.path.insert(0, {bench!r})
import attention as b
torch.set_num_threads(1)
fn = b.functions({n}, {causal})[{method!r}]


def kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


try:  # reset the peak to the current resident set (Linux), so the import's peak
    with open("/proc/self/clear_refs", "w") as f:  # cannot hide the call's
        f.write("5")
    base = kib("VmRSS:")
    peak = lambda: kib("VmHWM:")
except OSError:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.no_grad():
    fn()
print((peak() - base) / 1024)
"""


def peak_mib(method: str, n: int, causal: bool) -> float:
    code = CHILD.format(
        bench=str(ROOT / "benchmarks"), n=n, causal=causal, method=method
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure(n: int, causal: bool, budget_s: float) -> list[dict]:
    fns = functions(n, causal)
    with torch.no_grad():
        times = paired_times(fns, budget_s=budget_s)
    rows = []
    for m in fns:
        q1, med, q3 = quartiles(times[m])
        rows.append(
            dict(
                method=m,
                n=n,
                causal=causal,
                ms=1e3 * med,
                ms_iqr=[1e3 * q1, 1e3 * q3],
                ratio=ratio_summary(times, m, "sdpa"),
                peak_mib=peak_mib(m, n, causal),
            )
        )
    return rows


def crossover(rows, fast: str):
    """Smallest n of the grid from which ``fast`` beats sdpa (median paired ratio < 1)
    for every larger n."""
    t = {r["n"]: r["ratio"]["median"] for r in rows if r["method"] == fast}
    ns = sorted(t)
    for n in ns:
        if all(t[m] < 1 for m in ns if m >= n):
            return n
    return None


def table(rows, causal: bool) -> str:
    ns = sorted({r["n"] for r in rows if r["causal"] == causal})
    t = {(r["method"], r["n"]): r for r in rows if r["causal"] == causal}
    head = (
        "| n | sdpa ms (MiB) | "
        + " | ".join(f"{m} / sdpa (MiB)" for m in METHODS[1:])
        + " | pairs |"
    )
    lines = [head, "|" + "---|" * (len(METHODS) + 2)]
    for n in ns:
        s = t["sdpa", n]
        cells = [f"{s['ms']:.1f} ({s['peak_mib']:.0f})"]
        for m in METHODS[1:]:
            r = t.get((m, n))
            cells.append(f"{fmt_ratio(r['ratio'])} ({r['peak_mib']:.0f})" if r else "—")
        cells.append(str(s["ratio"]["pairs"]))
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=8192)
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per size")
    ap.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "attention-cpu.md")
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    ns = [n for n in (256, 512, 1024, 2048, 4096, 8192) if n <= args.max_n]
    rows = []
    start = time.perf_counter()
    for causal in (False, True):
        for n in ns:
            for r in measure(n, causal, args.budget):
                rows.append(r)
                print(
                    f"causal={causal} n={n:5d} {r['method']:12s} {r['ms']:9.2f} ms  "
                    f"/sdpa {fmt_ratio(r['ratio'])}  peak {r['peak_mib']:7.1f} MiB",
                    flush=True,
                )
    elapsed = time.perf_counter() - start
    nc = [r for r in rows if not r["causal"]]
    c = [r for r in rows if r["causal"]]
    lines = [
        "# Attention on a CPU: kexue.attention vs PyTorch's "
        "scaled_dot_product_attention",
        "",
        f"Machine: {platform.processor() or platform.machine()} CPU, 2 cores shared "
        "with other jobs (loaded while this ran); one thread; "
        f"torch {torch.__version__}, "
        f"Python {platform.python_version()}. Batch 1, 4 heads, head size 64, float32. "
        "Each cell is the **median of per-repetition ratios to sdpa, [first, third "
        "quartile]**: all methods run back to back in one process in every repetition "
        "(rotated order), so load that varies between repetitions cancels in the ratio "
        "(`benchmarks/paired.py`). The sdpa column is its median time, for orientation "
        "only. Memory (MiB) is the rise of the peak resident set over the inputs, in a "
        f"fresh process per configuration. Produced by `python benchmarks/attention.py "
        f"--max-n {args.max_n}` in {elapsed:.0f} s.",
        "",
        "### Bidirectional (no mask)",
        "",
        table(rows, False),
        "",
        "### Causal",
        "",
        table(rows, True),
        "",
        "Crossover (smallest n from which linear attention is faster than SDPA, median "
        "paired ratio below 1, for all larger n of the grid): "
        f"bidirectional elu+1: {crossover(nc, 'linear-elu')}, "
        f"Performer-256: {crossover(nc, 'linear-perf')}; "
        f"causal elu+1: {crossover(c, 'linear-elu')}, "
        f"Performer-256: {crossover(c, 'linear-perf')} (None: not within the grid).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(
        json.dumps(rows, indent=1), encoding="utf-8"
    )
    print("wrote", args.out)


if __name__ == "__main__":
    main()
