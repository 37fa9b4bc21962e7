#!/usr/bin/env python
"""Speed and peak memory of kexue.attention against PyTorch's own kernel, and of linear attention.

    python benchmarks/attention.py                 # CPU sizes, writes benchmarks/results/attention-cpu.md
    python benchmarks/attention.py --quick         # n up to 1024, for a smoke run

Compared, for n = 256 ... 8192 (batch 1, 4 heads, head size 64, float32, one thread):

* ``sdpa``        torch.nn.functional.scaled_dot_product_attention, called directly;
* ``kexue``       kexue.attention.attention (dispatches to SDPA: the overhead of validation and dispatch);
* ``kexue-math``  the explicit path (backend="math"), up to n = 4096 (its n x n matrices are large);
* ``linear-elu``  linear attention with elu(x)+1 features (d = 64), bidirectional;
* ``linear-perf`` linear attention with 256 Performer features, bidirectional.

Each configuration runs in a fresh subprocess, so the peak resident memory it reports (the rise of
``ru_maxrss`` over the inputs) belongs to that configuration alone. Times are the best of 7-50 runs
after one warm-up. Nothing here is asserted by the tests: speed is measured, not promised.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("sdpa", "kexue", "kexue-math", "linear-elu", "linear-perf")
MATH_MAX_N = 4096

CHILD = r"""
import json, resource, statistics, sys, time
import torch
import torch.nn.functional as F
sys.path.insert(0, {lib!r})
import kexue.attention as ka
torch.set_num_threads(1)
method, n, causal = {method!r}, {n}, {causal}
B, H, d = 1, 4, 64
g = torch.Generator().manual_seed(0)
q, k, v = (torch.randn(B, H, n, d, generator=g) for _ in range(3))
perf = ka.PerformerFeatures(d, 256, seed=0).float()
s = d ** -0.25
fns = {{
    "sdpa": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
    "kexue": lambda: ka.attention(q, k, v, is_causal=causal),
    "kexue-math": lambda: ka.attention(q, k, v, is_causal=causal, backend="math"),
    "linear-elu": lambda: ka.linear_attention(q, k, v, ka.elu_plus_one, causal=causal),
    "linear-perf": lambda: ka.linear_attention(q * s, k * s, v, perf, causal=causal, eps=1e-6),
}}
fn = fns[method]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.no_grad():
    t = time.perf_counter(); fn(); first = time.perf_counter() - t
    times = []
    for _ in range(max(7, min(50, int(0.5 / max(first, 1e-6))))):   # at least 7 runs, more when they are quick
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps(dict(method=method, n=n, causal=causal, ms=1e3 * min(times), peak_mib=peak / 1024)))
"""


def run_one(method: str, n: int, causal: bool) -> dict:
    code = CHILD.format(lib=str(ROOT / "lib"), method=method, n=n, causal=causal)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def crossover(rows, fast: str, slow: str = "sdpa"):
    """Smallest n of the grid from which ``fast`` is quicker than ``slow`` for every larger n."""
    ns = sorted({r["n"] for r in rows})
    t = {(r["method"], r["n"]): r["ms"] for r in rows}
    ok = [n for n in ns if (fast, n) in t and t[fast, n] < t[slow, n]]
    for n in ns:
        if all(m in ok for m in ns if m >= n):
            return n
    return None


def table(rows, causal: bool) -> str:
    ns = sorted({r["n"] for r in rows if r["causal"] == causal})
    t = {(r["method"], r["n"]): r for r in rows if r["causal"] == causal}
    head = "| n | " + " | ".join(f"{m} ms (MiB)" for m in METHODS) + " |"
    lines = [head, "|" + "---|" * (len(METHODS) + 1)]
    for n in ns:
        cells = [
            f"{t[m, n]['ms']:.1f} ({t[m, n]['peak_mib']:.0f})" if (m, n) in t else "—"
            for m in METHODS
        ]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "attention-cpu.md")
    )
    args = ap.parse_args()
    ns = [256, 512, 1024] if args.quick else [256, 512, 1024, 2048, 4096, 8192]
    rows = []
    start = time.perf_counter()
    for causal in (False, True):
        for n in ns:
            for m in METHODS:
                if m == "kexue-math" and n > MATH_MAX_N:
                    continue
                r = run_one(m, n, causal)
                rows.append(r)
                print(
                    f"causal={causal} n={n:5d} {m:12s} {r['ms']:9.2f} ms  peak {r['peak_mib']:7.1f} MiB",
                    flush=True,
                )
    import torch

    lines = [
        "# Attention on a CPU: kexue.attention vs PyTorch's scaled_dot_product_attention",
        "",
        f"Machine: 2-core CPU ({platform.processor() or platform.machine()}), shared with other jobs; one thread "
        f"per run; torch {torch.__version__}, Python {platform.python_version()}. Batch 1, 4 heads, head size 64, "
        "float32. Best of 7 to 50 runs after a warm-up (the minimum is the least disturbed by other jobs), each configuration in a fresh process; memory is the rise of "
        "the peak resident set over the inputs. Produced by `python benchmarks/attention.py` "
        f"in {time.perf_counter() - start:.0f} s.",
        "",
        "### Bidirectional (no mask)",
        "",
        table(rows, False),
        "",
        "### Causal",
        "",
        table(rows, True),
        "",
        "Crossover (smallest n from which linear attention is faster than SDPA for all larger n of the grid): "
        f"bidirectional elu+1: {crossover([r for r in rows if not r['causal']], 'linear-elu')}, "
        f"Performer-256: {crossover([r for r in rows if not r['causal']], 'linear-perf')}; "
        f"causal elu+1: {crossover([r for r in rows if r['causal']], 'linear-elu')}, "
        f"Performer-256: {crossover([r for r in rows if r['causal']], 'linear-perf')} "
        "(None: not within the grid).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(
        json.dumps(rows, indent=1), encoding="utf-8"
    )
    print("wrote", args.out)


if __name__ == "__main__":
    main()
