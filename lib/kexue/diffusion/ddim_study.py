"""The two demos of the ddim chapter (chapters/diffusion/ddim.ipynb).

``sigma_fractions`` is the per-step noise of the DDIM family, ``sigma_t = eta
bbar_{t-1} beta_t / bbar_t`` (one-step case of eq. ddim-sigma-skip), and the choice
``sigma_t = beta_t``, as a fraction of its largest admissible value ``bbar_{t-1}``
(eq. ddim-coefficients); ``plot_sigma_fractions`` draws it, marking the inadmissible
steps. ``plot_samples`` runs ``ddim_sample`` from given starting points and draws the
samples over reference points, with sampling paths and the sliced W2 distance in the
title.
"""

from __future__ import annotations

import torch

from .. import metrics, plotting
from .._validate import check_callable, check_int, check_real, check_tensor
from .samplers import Trajectory, ddim_sample
from .schedules import DiscreteSchedule

__all__ = ["sigma_fractions", "plot_sigma_fractions", "plot_samples"]


def _check_sched(sched):
    if not isinstance(sched, DiscreteSchedule):
        raise TypeError(f"sched must be a DiscreteSchedule, got {type(sched).__name__}")


def sigma_fractions(sched: DiscreteSchedule, eta: float):
    """``(t, frac_eta, frac_beta)`` for ``t = 2..T`` (ddim chapter, eqs. ddim-sigma-skip
    and ddim-coefficients): ``sigma_t / bbar_{t-1}`` for ``sigma_t = ddim_sigma(t, t-1,
    eta)`` and for ``sigma_t = beta_t``. A step is admissible where the fraction is at
    most 1; ``t = 1`` (``bbar_0 = 0``) is left out, inadmissible for any ``sigma > 0``.
    ``t`` is an int64 tensor, the fractions float64, each (T - 1,)."""
    _check_sched(sched)
    eta = check_real(eta, "eta", low=0.0)
    t = torch.arange(2, sched.T + 1)
    sig = torch.stack([sched.ddim_sigma(int(i), int(i) - 1, eta) for i in t])
    below = sched.noise[t - 1]
    return t, sig / below, sched.beta[t - 1] / below


def plot_sigma_fractions(sched: DiscreteSchedule, eta: float, *, title: str = ""):
    """The figure of :func:`sigma_fractions` on a log step axis: the eta curve, the
    ``sigma_t = beta_t`` curve, the admissibility bound 1, and red crosses at the
    inadmissible steps of ``beta_t`` (named in the legend with ``t = 1``). Returns the
    figure (ddim chapter, the sigma demo)."""
    t, frac, frac_b = sigma_fractions(sched, eta)
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    bad = frac_b > 1
    where = [1, *t[bad].tolist()]
    names = ", ".join(map(str, where[:3])) + (", ..." if len(where) > 3 else "")
    fig, ax = plotting.figure(size=3.6)
    ax.plot(t, frac, label=rf"$\eta$ = {float(eta)}")
    ax.plot(t, frac_b, "--", label=r"$\sigma_t=\beta_t$")
    ax.plot(t[bad], frac_b[bad], "rx", label=f"inadmissible: t = {names}")
    ax.axhline(1, color="0.5", lw=0.8)
    ax.set(xscale="log", ylim=(0, 1.6), xlabel="step $t$")
    ax.set(ylabel=r"$\sigma_t/\bar\beta_{t-1}$", title=title)
    ax.legend(fontsize=7)
    return fig


def plot_samples(
    eps_model,
    z: torch.Tensor,
    sched: DiscreteSchedule,
    x_ref: torch.Tensor,
    *,
    steps: int,
    eta: float,
    spacing: str,
    title: str = "",
    reference: str = "",
    seed: int = 0,
):
    """Run ``ddim_sample(eps_model, z, sched, steps, eta, spacing)`` with the noise of
    ``torch.Generator().manual_seed(seed)`` and draw the (N, 2) samples over ``x_ref``
    with twelve sampling paths; the title is ``title``, then ``SW <d> (<reference>)``
    with ``d`` the sliced W2 distance of samples and ``x_ref``. Returns the figure (ddim
    chapter, the main demo; the sampler validates its own arguments)."""
    check_callable(eps_model, "eps_model")
    _check_sched(sched)
    z = check_tensor(z, "z", finite=True)
    x_ref = check_tensor(x_ref, "x_ref", finite=True)
    for name, value in (("title", title), ("reference", reference)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    seed = check_int(seed, "seed", min_value=0)
    traj, g = Trajectory(), torch.Generator().manual_seed(seed)
    kw = dict(steps=steps, eta=eta, spacing=spacing, generator=g, callback=traj)
    out = ddim_sample(eps_model, z, sched, **kw)
    d = metrics.sliced_wasserstein(out, x_ref)
    fig, ax = plotting.figure(size=3.8)
    plotting.scatter2d(ax, out, x_ref, title=f"{title}\nSW {d:.3f} ({reference})")
    plotting.trajectories2d(ax, traj.stack())
    return fig
