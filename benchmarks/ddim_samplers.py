#!/usr/bin/env python
"""Sample quality against network evaluations, and the samplers' own overhead, for one trained 2-D model.

    python benchmarks/ddim_samplers.py            # CPU: about a minute; writes benchmarks/results/ddim-samplers-<device>.md

Quality: sliced W2 (256 directions) between 4,000 samples and held-out moons, for DDPM (1000 steps), DDIM with
several step counts and eta, and the probability-flow ODE of the DDIM chapter with Euler, Heun and dopri5.
Overhead: wall time of a whole sampling run minus the time spent inside the network, as a share of the whole,
for `kexue.diffusion.ddim_sample` and for diffusers' `DDIMScheduler` driving the same network (same steps,
same inputs). Speed is measured here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

import kexue.diffusion as kd
from kexue import data, metrics, nn

OUT = Path(__file__).resolve().parent / "results"


class Timed(torch.nn.Module):
    """Wrap a model; accumulate the wall time spent inside it and count calls."""

    def __init__(self, model):
        super().__init__()
        self.model, self.seconds, self.calls = model, 0.0, 0

    def forward(self, x, t):
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = self.model(x, t)
        if x.is_cuda:
            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


def train_model(device, steps):
    sched = kd.DiscreteSchedule.su_linear()
    model = nn.TimeMLP(dim=2, hidden=128, depth=3).to(device)
    x = data.moons(20_000, seed=0)
    nn.train(model, lambda m, b, g: kd.dsm_loss(m, b, sched, generator=g), x, steps=steps, batch_size=1024,
             lr=3e-3, desc="training")
    return model.eval(), sched


@torch.no_grad()
def quality_table(model, sched, device, n=4000):
    x_test = data.moons(n, seed=1)
    floor = metrics.sliced_wasserstein(data.moons(n, seed=2), x_test)
    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(1)).to(device)
    rows = [("data vs data (floor)", 0, floor)]
    x = kd.ddpm_sample(model, z, sched, generator=torch.Generator().manual_seed(2))
    rows.append(("DDPM ancestral", sched.T, metrics.sliced_wasserstein(x.cpu(), x_test)))
    for steps in [10, 20, 50, 100]:
        for eta in [0.0, 1.0]:
            x = kd.ddim_sample(model, z, sched, steps=steps, eta=eta, generator=torch.Generator().manual_seed(3))
            rows.append((f"DDIM eta={eta:g}", steps, metrics.sliced_wasserstein(x.cpu(), x_test)))
    for method, k in [("euler", 20), ("heun", 10), ("dopri5", None)]:
        x, info = kd.ode_sample(model, z, method=method, n_steps=k, rtol=1e-3, atol=1e-3)
        rows.append((f"PF-ODE {method}", info["nfe"], metrics.sliced_wasserstein(x.cpu(), x_test)))
    return rows


@torch.no_grad()
def overhead(model, sched, device, n, steps=50, repeats=5):
    """(ours, diffusers): median share of wall time spent outside the network, and median total seconds."""
    import diffusers

    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(4)).to(device)
    sch = diffusers.DDIMScheduler(num_train_timesteps=sched.T, trained_betas=(1 - sched.signal[1:] ** 2 /
                                  sched.signal[:-1] ** 2).float().numpy(), clip_sample=False,
                                  set_alpha_to_one=True, timestep_spacing="trailing")
    sch.set_timesteps(steps)

    def ours():
        return kd.ddim_sample(timed, z, sched, steps=steps, eta=0.0)

    def theirs():
        x = z
        for k in sch.timesteps:
            t = torch.full((n,), (int(k) + 1) / sched.T, device=device)
            x = sch.step(timed(x, t), k, x).prev_sample
        return x

    results = {}
    for name, fn in [("kexue ddim_sample", ours), ("diffusers DDIMScheduler", theirs)]:
        shares, totals = [], []
        for _ in range(repeats + 1):
            timed = Timed(model)
            start = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            total = time.perf_counter() - start
            shares.append((total - timed.seconds) / total)
            totals.append(total)
        results[name] = (sorted(shares[1:])[repeats // 2], sorted(totals[1:])[repeats // 2])
    return results


def plot(rows, path, machine):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), facecolor="white")
    floor = rows[0][2]
    groups: dict[str, list] = {}
    for name, nfe, sw in rows[1:]:
        groups.setdefault(name, []).append((nfe, sw))
    for name, pts in groups.items():
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-" if len(pts) > 1 else "s", label=name, ms=4)
    ax.axhline(floor, color="0.6", ls=":", label="data vs data")
    ax.set(xscale="log", yscale="log", xlabel="network evaluations", ylabel="sliced W2", title=machine[:60])
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110, facecolor="white")
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, sched = train_model(device, args.train_steps)
    rows = quality_table(model, sched, device)
    ovh = {n: overhead(model, sched, device, n) for n in [4_000, 65_536]}
    machine = (torch.cuda.get_device_name() if device.type == "cuda" else
               f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s) of a "
               f"{__import__('os').cpu_count()}-core CPU")
    lines = [f"# DDIM-family samplers: quality and overhead ({device.type})", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {machine}; torch {torch.__version__}. "
             f"Model: TimeMLP 3x128 trained {args.train_steps} steps on moons (betas 0.02 t/T, T=1000).", "",
             "## Quality against network evaluations (4,000 samples, sliced W2 to held-out data)", "",
             "| sampler | network evaluations | sliced W2 |", "|---|---:|---:|"]
    lines += [f"| {name} | {nfe} | {sw:.4f} |" for name, nfe, sw in rows]
    ddpm = next(sw for name, _, sw in rows if name.startswith("DDPM"))
    best20 = min(sw for name, nfe, sw in rows if nfe <= 21 and not name.startswith("data"))
    lines += ["", f"Best sampler with at most 21 evaluations: {best20 / ddpm:.2f}x DDPM's distance with 1000 "
              f"(target: within 1.2x).", "",
              "## Sampler overhead (50 DDIM steps, eta = 0; median of 5 runs)", "",
              "| batch | sampler | total seconds | share of time outside the network |", "|---:|---|---:|---:|"]
    for n, res in ovh.items():
        lines += [f"| {n} | {name} | {tot:.3f} | {share:.1%} |" for name, (share, tot) in res.items()]
    lines += ["", "The share outside the network is the sampler's own cost (coefficient arithmetic, Python loop, "
              "random draws). Target: under 5 % at the batch sizes the book uses."]
    OUT.mkdir(exist_ok=True)
    plot(rows, OUT / f"ddim-samplers-{device.type}.png", machine)
    lines += ["", f"![quality against network evaluations](ddim-samplers-{device.type}.png)"]
    path = OUT / f"ddim-samplers-{device.type}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
