"""Bad-input contract for kexue.diffusion, kexue.data and kexue.metrics (see
tests/contract.py).

One valid call per public function and method, with tiny sizes so that the harness's
hundreds of mutated calls stay fast.
"""

from __future__ import annotations

import math

import kexue.diffusion as kd
import numpy as np
import torch
from contract import Call
from kexue import data, metrics
from kexue.diffusion import distill, fields
from kexue.diffusion import ode as kode

F64 = torch.float64
PRE = "kexue.diffusion."


def _x(n=4, d=2, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _gen():
    return torch.Generator().manual_seed(0)


def _model(x, t):
    return 0.1 * x


D20 = kd.DiscreteSchedule.linear(20)
VP = kd.VPSchedule()
VE = kd.VESchedule()
RING = data.ring_mixture(4)
GK = fields.GaussianKernel()
BAD_DISCRETE = ["linear", None, VP]
BAD_CONT = ["vp", None, D20]
SCHED_D = {"sched": "object"}
GRID = lambda: torch.linspace(-1, 1, 5, dtype=F64)  # noqa: E731
SPACING = "choice:uniform|leading|quadratic"


class _Fake(torch.nn.Module):
    """A tiny eps-model module ``fake(x, t)`` for SiD."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x, t):
        return self.lin(x)


def _traj():
    tr = kd.Trajectory()
    kd.ddim_sample(_model, _x(), D20, steps=2, callback=tr)
    return tr


CALLS = [
    # ------------------------------------------------------------------ discrete
    # schedules
    Call(
        kd.DiscreteSchedule,
        lambda: {"alphas_cumprod": torch.linspace(0.99, 0.5, 5, dtype=F64)},
        {"alphas_cumprod": "finite"},
        bad={"alphas_cumprod": [[1.0, 1.0], [0.5, 0.9], [], [[0.5]], [0.0]]},
    ),
    Call(
        kd.DiscreteSchedule.from_betas,
        lambda: {"betas": torch.full((5,), 0.1, dtype=F64)},
        {"betas": "finite"},
        bad={"betas": [[1.0], [-0.1], [], [0.0, 0.0]]},
    ),
    Call(
        kd.DiscreteSchedule.linear,
        lambda: {"T": 10, "beta_start": 1e-4, "beta_end": 0.02},
        {"T": "int>=1", "beta_start": "float>0", "beta_end": "float>0"},
        bad={"beta_end": [1.0, 1e-5]},
    ),
    Call(kd.DiscreteSchedule.su_linear, lambda: {"T": 10}, {"T": "int>=1"}),
    Call(
        kd.DiscreteSchedule.cosine,
        lambda: {"T": 10, "s": 0.008, "max_beta": 0.999},
        {"T": "int>=1", "s": "float>0", "max_beta": "prob"},
        bad={"max_beta": [1.0, 0.0]},
    ),
    Call(
        kd.DiscreteSchedule.from_continuous,
        lambda: {"sched": VP, "T": 10},
        {"sched": "object", "T": "int>=1"},
        bad={"sched": ["vp", None, VE]},
    ),
    Call(D20.t_of, lambda: {"i": 3}, {"i": "int>=0"}, bad={"i": [21]}),
    Call(
        D20.step_alpha,
        lambda: {"i": 5, "j": 3},
        {"i": "int>=0", "j": "int>=0"},
        bad={"i": [21], "j": [21]},
    ),
    Call(
        D20.ddim_sigma,
        lambda: {"i": 5, "j": 3, "eta": 0.5},
        {"i": "int>=0", "j": "int>=0", "eta": "float>=0"},
        bad={"j": [5, 6]},
    ),
    Call(D20.posterior_var, lambda: {"i": 3}, {"i": "int>=1"}, bad={"i": [21]}),
    Call(
        D20.timesteps,
        lambda: {"steps": 4, "spacing": "uniform"},
        {"steps": "int>=1", "spacing": SPACING},
        bad={"steps": [21]},
    ),
    Call(
        D20.validate_timesteps,
        lambda: {"timesteps": [20, 10, 0]},
        {"timesteps": "object"},
        bad={"timesteps": [None, "abc", [3], [10, 20, 0], [20, 10], [30, 0], [5.5, 0]]},
    ),
    # ------------------------------------------------------------------ continuous
    # schedules
    Call(
        kd.VPSchedule,
        lambda: {"beta_min": 0.1, "beta_max": 20.0, "t_min": 1e-3, "t_max": 1.0},
        {
            "beta_min": "float>=0",
            "beta_max": "float>0",
            "t_min": "float>0",
            "t_max": "float>0",
        },
        bad={"beta_max": [0.05], "t_min": [1.0, 2.0]},
    ),
    Call(kd.VPSchedule.su_quadratic, lambda: {"t_min": 1e-3}, {"t_min": "float>0"}),
    Call(VP.beta, lambda: {"t": 0.5}, {"t": "float>=0"}, bad={"t": [2.0]}),
    Call(VP.drift_coef, lambda: {"t": 0.5}, {"t": "float>=0"}, bad={"t": [2.0]}),
    Call(VP.diffusion_sq, lambda: {"t": 0.5}, {"t": "float>=0"}, bad={"t": [2.0]}),
    Call(
        kd.VESchedule,
        lambda: {"sigma_min": 0.01, "sigma_max": 50.0, "t_min": 0.0},
        {"sigma_min": "float>0", "sigma_max": "float>0", "t_min": "float>=0"},
        bad={"sigma_max": [0.001], "t_min": [1.0]},
    ),
    Call(VE.drift_coef, lambda: {"t": 0.5}, {"t": "float>=0"}, bad={"t": [2.0]}),
    Call(VE.diffusion_sq, lambda: {"t": 0.5}, {"t": "float>=0"}, bad={"t": [2.0]}),
    Call(
        kd.HeatSchedule,
        lambda: {"t_max": 5.0, "t_min": 1e-3},
        {"t_max": "float>0", "t_min": "float>0"},
        bad={"t_min": [5.0]},
    ),
    Call(
        kd.HeatSchedule(5.0).drift_coef,
        lambda: {"t": 0.5},
        {"t": "float>=0"},
        bad={"t": [6.0]},
    ),
    Call(
        kd.HeatSchedule(5.0).diffusion_sq,
        lambda: {"t": 0.5},
        {"t": "float>=0"},
        bad={"t": [6.0]},
    ),
    Call(
        kd.CustomSchedule,
        lambda: {
            "signal": lambda t: torch.cos(t * math.pi / 2) + 0.01,
            "noise": lambda t: torch.sin(t * math.pi / 2),
            "t_min": 1e-3,
            "t_max": 1.0,
            "name": "cos",
        },
        {
            "signal": "callable",
            "noise": "callable",
            "t_min": "float>=0",
            "t_max": "float>0",
            "name": "object",
        },
        bad={
            "signal": [lambda t: -torch.ones_like(t), lambda t: 1.0],
            "noise": [lambda t: -torch.ones_like(t)],
            "name": [None, 3],
        },
    ),
    Call(
        kd.CustomSchedule.from_discrete,
        lambda: {"sched": D20},
        {"sched": "object"},
        bad={"sched": BAD_DISCRETE + [kd.DiscreteSchedule.linear(1)]},
    ),
    Call(
        VP.signal,
        lambda: {"t": torch.tensor([0.2, 0.5], dtype=F64)},
        {"t": "finite"},
        bad={"t": [-0.5, 2.0, True]},
    ),
    Call(
        VP.noise,
        lambda: {"t": torch.tensor([0.2, 0.5], dtype=F64)},
        {"t": "finite"},
        bad={"t": [-0.5, 2.0]},
    ),
    Call(
        VP.sigma_ve,
        lambda: {"t": torch.tensor([0.2, 0.5], dtype=F64)},
        {"t": "finite"},
        bad={"t": [-0.5, 2.0]},
    ),
    Call(
        VP.log_snr,
        lambda: {"t": torch.tensor([0.2, 0.5], dtype=F64)},
        {"t": "finite"},
        bad={"t": [-0.5, 2.0]},
    ),
    Call(
        kd.CustomSchedule(
            lambda t: torch.exp(-t), lambda t: torch.sqrt(-torch.expm1(-2 * t))
        ).drift_coef,
        lambda: {"t": torch.tensor([0.2, 0.5], dtype=F64)},
        {"t": "finite"},
        name=PRE + "continuous.NoiseSchedule.drift_coef",
        bad={"t": [-0.5, 2.0]},
    ),
    Call(
        kd.CustomSchedule(
            lambda t: torch.exp(-t), lambda t: torch.sqrt(-torch.expm1(-2 * t))
        ).diffusion_sq,
        lambda: {"t": torch.tensor([0.2, 0.5], dtype=F64)},
        {"t": "finite"},
        name=PRE + "continuous.NoiseSchedule.diffusion_sq",
        bad={"t": [-0.5, 2.0]},
    ),
    Call(
        VP.perturb,
        lambda: {"x0": _x(), "t": 0.5, "eps": None, "generator": _gen()},
        {
            "x0": "finite",
            "t": "finite",
            "eps": "tensor|None",
            "generator": "generator|None",
        },
        bad={"t": [2.0, torch.ones(3)], "eps": [torch.zeros(3, 2, dtype=F64)]},
    ),
    Call(VP.prior_std, dict, {}),
    Call(VP.discretize, lambda: {"T": 10}, {"T": "int>=1"}),
    Call(
        kd.discrete_from_continuous,
        lambda: {"sched": VP, "T": 10},
        {"sched": "object", "T": "int>=1"},
        bad={"sched": BAD_CONT + [VE]},
    ),
    Call(
        kd.eps_to_score,
        lambda: {"eps": _x(), "t": 0.5, "sched": VP},
        {"eps": "tensor", "t": "finite", "sched": "object"},
        bad={"t": [0.0, 2.0], "sched": BAD_CONT},
    ),
    Call(
        kd.score_to_eps,
        lambda: {"score": _x(), "t": 0.5, "sched": VP},
        {"score": "tensor", "t": "finite", "sched": "object"},
        bad={"t": [2.0], "sched": BAD_CONT},
    ),
    Call(
        kd.continuous.cont_eps_to_x0,
        lambda: {"x": _x(), "eps": _x(seed=1), "t": 0.5, "sched": VP},
        {"x": "tensor", "eps": "tensor", "t": "finite", "sched": "object"},
        bad={"eps": [torch.zeros(3, 2, dtype=F64)], "sched": BAD_CONT},
    ),
    Call(
        kd.continuous.cont_x0_to_eps,
        lambda: {"x": _x(), "x0": _x(seed=1), "t": 0.5, "sched": VP},
        {"x": "tensor", "x0": "tensor", "t": "finite", "sched": "object"},
        bad={"x0": [torch.zeros(3, 2, dtype=F64)], "t": [0.0], "sched": BAD_CONT},
    ),
    # ------------------------------------------------------------------ core, forward
    Call(
        kd.expand_time,
        lambda: {"v": torch.rand(4, dtype=F64), "like": _x()},
        {"v": "tensor", "like": "tensor"},
        bad={"v": [torch.rand(3, dtype=F64), torch.rand(4, 1, dtype=F64), True]},
    ),
    Call(
        kd.x0_from_eps,
        lambda: {"x": _x(), "eps": _x(seed=1), "a": 0.5, "b": 0.8},
        {"x": "tensor", "eps": "tensor", "a": "object", "b": "object"},
        bad={"a": [None, "a", torch.ones(3, dtype=F64), 0.0], "b": [None, "b"]},
    ),
    Call(
        kd.eps_from_x0,
        lambda: {"x": _x(), "x0": _x(seed=1), "a": 0.5, "b": 0.8},
        {"x": "tensor", "x0": "tensor", "a": "object", "b": "object"},
        bad={"a": [None, "a"], "b": [None, "b", 0.0]},
    ),
    Call(
        kd.NFECounter,
        lambda: {"model": _model, "name": "model"},
        {"model": "callable", "name": "object"},
        bad={"name": [None, 3]},
    ),
    Call(
        kd.forward.coef,
        lambda: {"values": D20.signal, "i": 3, "like": _x()},
        {"values": "tensor", "i": "object", "like": "tensor"},
        bad={"i": [None, 2.5, "a", 21, torch.tensor([1, 2]), torch.ones(4)]},
    ),
    Call(
        kd.q_sample,
        lambda: {"x0": _x(), "i": 3, "sched": D20, "eps": None, "generator": _gen()},
        {
            "x0": "finite",
            "i": "object",
            "sched": "object",
            "eps": "tensor|None",
            "generator": "generator|None",
        },
        bad={
            "i": [None, 2.5, -1, 21, torch.tensor([1, 2])],
            "sched": ["linear", None],
            "eps": [torch.zeros(3, 2, dtype=F64)],
        },
    ),
    Call(
        kd.eps_to_x0,
        lambda: {"x": _x(), "eps": _x(seed=1), "i": 3, "sched": D20},
        {"x": "tensor", "eps": "tensor", "i": "object", "sched": "object"},
        bad={"i": [None, 2.5, -1, 21], "sched": ["linear", None]},
    ),
    Call(
        kd.x0_to_eps,
        lambda: {"x": _x(), "x0": _x(seed=1), "i": 3, "sched": D20},
        {"x": "tensor", "x0": "tensor", "i": "object", "sched": "object"},
        bad={"i": [None, 2.5, 0, 21], "sched": ["linear", None]},
    ),
    # ------------------------------------------------------------------ discrete
    # samplers
    Call(
        kd.ddim_step,
        lambda: {
            "x": _x(),
            "eps": _x(seed=1),
            "i": 10,
            "j": 5,
            "sched": D20,
            "eta": 0.5,
            "sigma": None,
            "noise": None,
            "generator": _gen(),
            "clip_x0": 1.0,
        },
        {
            "x": "finite",
            "eps": "tensor",
            "i": "int>=0",
            "j": "int>=0",
            "sched": "object",
            "eta": "float>=0",
            "sigma": "float>=0|None",
            "noise": "tensor|None",
            "generator": "generator|None",
            "clip_x0": "float>0|None",
        },
        bad={
            "j": [10, 21],
            "sigma": [10.0],
            "noise": [torch.zeros(3, 2, dtype=F64)],
            "sched": BAD_DISCRETE,
        },
    ),
    Call(
        kd.ddpm_step,
        lambda: {
            "x": _x(),
            "eps": _x(seed=1),
            "i": 10,
            "sched": D20,
            "var": "posterior",
            "noise": None,
            "generator": _gen(),
        },
        {
            "x": "finite",
            "eps": "tensor",
            "i": "int>=1",
            "sched": "object",
            "var": "choice:posterior|beta",
            "noise": "tensor|None",
            "generator": "generator|None",
        },
        bad={"i": [21], "sched": BAD_DISCRETE, "noise": [torch.zeros(3, 2)]},
    ),
    Call(
        kd.ddim_sample,
        lambda: {
            "model": _model,
            "x": _x(),
            "sched": D20,
            "steps": 3,
            "timesteps": None,
            "spacing": "uniform",
            "eta": 0.5,
            "generator": _gen(),
            "callback": None,
            "progress": False,
            "clip_x0": None,
        },
        {
            "model": "callable",
            "x": "finite",
            "sched": "object",
            "steps": "int>=1",
            "spacing": SPACING,
            "clip_x0": "float>0|None",
            "eta": "prob",
            "generator": "generator|None",
            "callback": "callable|None",
            "progress": "bool",
        },
        bad={
            "model": [lambda x, t: x[:, :1], lambda x, t: [1.0]],
            "sched": BAD_DISCRETE,
            "steps": [21],
            "timesteps": ["abc", [20, 30, 0], [20, 10]],
        },
    ),
    Call(
        kd.ddpm_sample,
        lambda: {
            "model": _model,
            "x": _x(),
            "sched": kd.DiscreteSchedule.linear(4),
            "var": "posterior",
            "generator": _gen(),
            "callback": None,
            "progress": False,
        },
        {
            "model": "callable",
            "x": "finite",
            "sched": "object",
            "var": "choice:posterior|beta",
            "generator": "generator|None",
            "callback": "callable|None",
            "progress": "bool",
        },
        bad={"model": [lambda x, t: x[:, :1]], "sched": BAD_DISCRETE},
    ),
    Call(
        kd.ddim_invert,
        lambda: {
            "model": _model,
            "x": _x(),
            "sched": D20,
            "steps": 3,
            "timesteps": None,
            "spacing": "uniform",
            "callback": None,
            "progress": False,
        },
        {
            "model": "callable",
            "x": "finite",
            "sched": "object",
            "steps": "int>=1",
            "spacing": SPACING,
            "callback": "callable|None",
            "progress": "bool",
        },
        bad={
            "model": [lambda x, t: x[:, :1]],
            "sched": BAD_DISCRETE,
            "timesteps": ["abc", [20, 30, 0]],
        },
    ),
    Call(
        kd.slerp,
        lambda: {"z1": _x(), "z2": _x(seed=1), "lam": [0.0, 0.5, 1.0]},
        {"z1": "finite", "z2": "finite", "lam": "object"},
        bad={
            "lam": [None, "a", 2.0, -0.5, math.nan, [[0.5]]],
            "z2": [torch.zeros(3, 2, dtype=F64)],
        },
    ),
    Call(kd.Trajectory, dict, {}),
    Call(lambda: _traj().stack(), dict, {}, name=PRE + "samplers.Trajectory.stack"),
    # ------------------------------------------------------------------ losses
    Call(
        kd.dsm_loss,
        lambda: {
            "model": _model,
            "x0": _x(),
            "sched": VP,
            "t": None,
            "generator": _gen(),
        },
        {
            "model": "callable",
            "x0": "tensor",
            "sched": "object",
            "t": "object",
            "generator": "generator|None",
        },
        bad={
            "model": [lambda x, t: x[:, :1], lambda x, t: 1.0],
            "sched": ["vp", None],
            "t": ["a", 2.0, 0.0, torch.ones(3)],
        },
    ),
    Call(
        kd.dsm_loss,
        lambda: {"model": _model, "x0": _x(), "sched": D20, "generator": _gen()},
        {"model": "callable", "x0": "tensor", "generator": "generator|None"},
        name=PRE + "losses.dsm_loss[discrete]",
        bad={"model": [lambda x, t: x[:, :1]]},
    ),
    Call(
        kd.sm_loss,
        lambda: {
            "model": _model,
            "x0": _x(),
            "sched": VP,
            "score": RING.score_fn(VP),
            "t": None,
            "generator": _gen(),
        },
        {
            "model": "callable",
            "x0": "tensor",
            "sched": "object",
            "score": "callable",
            "t": "object",
            "generator": "generator|None",
        },
        bad={
            "sched": BAD_CONT,
            "score": [lambda x, t: x[:, :1]],
            "model": [lambda x, t: x[:, :1]],
            "t": ["a", 2.0],
        },
    ),
    Call(
        kd.sample_times,
        lambda: {"sched": VP, "n": 3, "generator": _gen()},
        {"sched": "object", "n": "int>=1", "generator": "generator|None"},
        bad={"sched": BAD_CONT},
    ),
    Call(
        kd.ratio_score_estimate,
        lambda: {"x_t": _x(), "t": 0.5, "ref_x0": _x(6, seed=1), "sched": VP},
        {"x_t": "tensor", "t": "float>0", "ref_x0": "tensor", "sched": "object"},
        bad={
            "t": [2.0, torch.ones(2)],
            "ref_x0": [torch.zeros(3, 3, dtype=F64), torch.zeros(0, 2, dtype=F64)],
            "sched": BAD_CONT,
        },
    ),
    Call(
        kd.sm_ratio_loss,
        lambda: {
            "model": _model,
            "x0": _x(),
            "sched": VP,
            "t": None,
            "ref_x0": None,
            "generator": _gen(),
        },
        {
            "model": "callable",
            "x0": "tensor",
            "sched": "object",
            "t": "float>0|None",
            "ref_x0": "tensor|None",
            "generator": "generator|None",
        },
        bad={"sched": BAD_CONT, "t": [2.0], "model": [lambda x, t: x[:, :1]]},
    ),
    # ------------------------------------------------------------------ continuous
    # samplers
    Call(
        kd.time_grid,
        lambda: {
            "sched": VP,
            "steps": 3,
            "t_start": None,
            "t_end": None,
            "spacing": "uniform",
            "rho": 7.0,
        },
        {
            "sched": "object",
            "steps": "int>=1",
            "t_start": "float>0|None",
            "t_end": "float>=0|None",
            "spacing": "choice:uniform|quadratic|karras",
            "rho": "float>0",
        },
        bad={"sched": BAD_CONT, "t_start": [2.0], "t_end": [0.0, 1.0]},
    ),
    Call(
        kd.reverse_sde_sample,
        lambda: {
            "model": _model,
            "x": _x(),
            "sched": VP,
            "steps": 3,
            "t_start": None,
            "t_end": None,
            "times": None,
            "spacing": "uniform",
            "denoise": True,
            "generator": _gen(),
            "callback": None,
            "progress": False,
        },
        {
            "model": "callable",
            "x": "finite",
            "sched": "object",
            "steps": "int>=1",
            "t_start": "float>0|None",
            "t_end": "float>=0|None",
            "spacing": "choice:uniform|quadratic",
            "denoise": "bool",
            "generator": "generator|None",
            "callback": "callable|None",
            "progress": "bool",
        },
        bad={
            "model": [lambda x, t: x[:, :1]],
            "sched": BAD_CONT,
            "times": ["abc", [0.5, 0.9], [0.5]],
            "t_end": [0.0],
        },
    ),
    Call(
        kd.pf_ode_sample,
        lambda: {
            "model": _model,
            "x": _x(),
            "sched": VP,
            "method": "heun",
            "steps": 3,
            "t_start": None,
            "t_end": None,
            "times": None,
            "spacing": "uniform",
            "rtol": 1e-3,
            "atol": 1e-3,
            "denoise": True,
            "generator": None,
            "callback": None,
            "progress": False,
        },
        {
            "model": "callable",
            "x": "finite",
            "sched": "object",
            "method": "choice:euler|heun|ddim|dopri5",
            "steps": "int>=1",
            "t_start": "float>0|None",
            "t_end": "float>=0|None",
            "spacing": "choice:uniform|quadratic",
            "rtol": "float>0",
            "atol": "float>0",
            "denoise": "bool",
            "generator": "generator|None",
            "callback": "callable|None",
            "progress": "bool",
        },
        bad={
            "model": [lambda x, t: x[:, :1]],
            "sched": BAD_CONT,
            "times": ["abc", [0.5, 0.9]],
        },
    ),
    Call(
        kd.pf_ode_velocity,
        lambda: {"model": _model, "sched": VP, "table": None},
        {"model": "callable", "sched": "object", "table": "object"},
        bad={"sched": BAD_CONT, "table": ["abc", 3]},
    ),
    Call(
        kd.forward_sde_simulate,
        lambda: {
            "x0": _x(),
            "sched": VP,
            "steps": 3,
            "t_end": None,
            "generator": _gen(),
            "callback": None,
        },
        {
            "x0": "finite",
            "sched": "object",
            "steps": "int>=1",
            "t_end": "float>0|None",
            "generator": "generator|None",
            "callback": "callable|None",
        },
        bad={"sched": BAD_CONT, "t_end": [2.0]},
    ),
    # ------------------------------------------------------------------ Su's ODE
    Call(kode.su_signal, lambda: {"s": GRID().abs()}, {"s": "tensor"}),
    Call(kode.su_noise, lambda: {"s": GRID().abs()}, {"s": "tensor"}),
    Call(kd.su_ode_velocity, lambda: {"model": _model}, {"model": "callable"}),
    Call(
        kd.ode_solve,
        lambda: {
            "f": lambda s, x: -x,
            "x": _x(),
            "s_start": 1.0,
            "s_end": 0.5,
            "method": "heun",
            "n_steps": 3,
            "rtol": 1e-5,
            "atol": 1e-5,
            "callback": None,
        },
        {
            "f": "callable",
            "x": "finite",
            "s_start": "object",
            "s_end": "object",
            "method": "choice:euler|heun|dopri5",
            "n_steps": "int>=1",
            "callback": "callable|None",
        },
        bad={
            "s_start": [None, "a", math.nan, math.inf, 0.5],
            "s_end": [None, "a", math.nan],
            "f": [lambda s, x: x[:, :1]],
        },
    ),
    Call(
        kd.ode_sample,
        lambda: {
            "model": _model,
            "x": _x(),
            "method": "euler",
            "n_steps": 3,
            "rtol": 1e-3,
            "atol": 1e-3,
            "s_end": 1e-3,
        },
        {
            "model": "callable",
            "x": "finite",
            "method": "choice:euler|heun|ddim|dopri5",
            "n_steps": "int>=1",
            "rtol": "float>0",
            "atol": "float>0",
            "s_end": "float>0",
        },
        bad={"s_end": [1.0, 2.0], "model": [lambda x, t: x[:, :1]]},
    ),
    Call(
        kd.euler_sample,
        lambda: {
            "model": _model,
            "x": _x(),
            "n_steps": 3,
            "state": "y",
            "clock": "s",
            "s_end": 1e-3,
        },
        {
            "model": "callable",
            "x": "finite",
            "n_steps": "int>=1",
            "state": "choice:x|y",
            "clock": "choice:s|tau",
            "s_end": "float>0",
        },
        bad={"s_end": [1.0, 2.0], "model": [lambda x, t: x[:, :1]]},
    ),
    # ------------------------------------------------------------------ PDE tools
    Call(
        kd.simulate_sde,
        lambda: {
            "drift": lambda x, t: -x,
            "g": 1.0,
            "x0": _x(),
            "dt": 0.01,
            "steps": 3,
            "t0": 0.0,
            "generator": _gen(),
            "save_every": None,
        },
        {
            "drift": "callable",
            "g": "object",
            "x0": "finite",
            "dt": "float>0",
            "steps": "int>=1",
            "t0": "object",
            "generator": "generator|None",
            "save_every": "int>=1|None",
        },
        bad={
            "g": [None, "a", -1.0, math.nan, lambda t: -1.0],
            "t0": [None, "a", math.nan],
            "drift": [lambda x, t: x[:, :1]],
        },
    ),
    Call(
        kd.solve_fp_1d,
        lambda: {
            "drift": lambda x, t: -x,
            "g2": 1.0,
            "p0": np.exp(-(np.linspace(-3, 3, 31) ** 2)),
            "grid": np.linspace(-3, 3, 31),
            "t_eval": [0.0, 0.1],
            "rtol": 1e-6,
            "atol": 1e-9,
        },
        {
            "drift": "callable",
            "g2": "object",
            "p0": "object",
            "grid": "object",
            "t_eval": "object",
            "rtol": "float>0",
            "atol": "float>0",
        },
        bad={
            "g2": [None, "a", -1.0, math.nan],
            "p0": [None, "a", np.ones(5), -np.ones(31), np.full(31, np.nan)],
            "grid": [None, "a", np.ones(31), np.linspace(-3, 3, 2)],
            "t_eval": [None, "a", [0.1, 0.0], [-1.0], [math.nan]],
        },
    ),
    Call(
        kd.divergence,
        lambda: {"f": lambda x: -x, "x": _x(), "t": None},
        {"f": "callable", "x": "tensor", "t": "object"},
        bad={"f": [lambda x: x[:, :1], lambda x: x.detach()]},
    ),
    Call(
        kd.fokker_planck_residual,
        lambda: {
            "log_p": lambda x, t: -0.5 * (x**2).sum(1),
            "f": lambda x, t: -x,
            "g2": 2.0,
            "x": _x(),
            "t": 0.5,
        },
        {
            "log_p": "callable",
            "f": "callable",
            "g2": "float>=0",
            "x": "tensor",
            "t": "object",
        },
        bad={
            "t": [None, "a", math.nan],
            "log_p": [lambda x, t: x],
            "f": [lambda x, t: x[:, :1]],
        },
    ),
    Call(
        kd.continuity_residual,
        lambda: {
            "log_p": lambda x, t: -0.5 * (x**2).sum(1),
            "f": lambda x, t: -x,
            "x": _x(),
            "t": 0.5,
        },
        {"log_p": "callable", "f": "callable", "x": "tensor", "t": "object"},
        bad={"t": [None, "a", math.nan]},
    ),
    Call(
        kd.log_density_along_ode,
        lambda: {
            "velocity": lambda t, x: -x,
            "x": _x(),
            "logp0": torch.zeros(4, dtype=F64),
            "t0": 0.0,
            "t1": 0.5,
            "steps": 3,
            "method": "rk4",
        },
        {
            "velocity": "callable",
            "x": "finite",
            "logp0": "finite",
            "t0": "object",
            "t1": "object",
            "steps": "int>=1",
            "method": "choice:euler|heun|rk4",
        },
        bad={
            "t0": [None, "a", math.nan],
            "t1": [None, "a", math.inf],
            "logp0": [torch.zeros(3, dtype=F64)],
            "velocity": [lambda t, x: x[:, :1]],
        },
    ),
    # ------------------------------------------------------------------ fields
    # (ode-construction)
    Call(fields.GaussianKernel, dict, {}),
    Call(fields.PoissonKernel, dict, {}),
    Call(fields.RadialCDFKernel, lambda: {"kind": "exp"}, {"kind": "choice:exp|tanh"}),
    *[
        Call(k.log_q, lambda: {"z": _x()}, {"z": "tensor"})
        for k in (GK, fields.PoissonKernel(), fields.RadialCDFKernel("tanh"))
    ],
    *[
        Call(
            k.sample_z,
            lambda: {"n": 3, "d": 2, "generator": _gen()},
            {"n": "int>=1", "d": "int>=1", "generator": "generator|None"},
        )
        for k in (GK, fields.PoissonKernel(), fields.RadialCDFKernel("exp"))
    ],
    Call(
        fields.LogTimeField,
        lambda: {"data": _x(6), "kernel": GK},
        {"data": "finite", "kernel": "object"},
        bad={"kernel": [None, "gauss"], "data": [torch.zeros(6)]},
    ),
    Call(
        fields.empirical_posterior_mean,
        lambda: {"x": _x(), "t": 0.5, "data": _x(6, seed=1), "kernel": GK},
        {"x": "finite", "t": "float>0", "data": "finite", "kernel": "object"},
        bad={"kernel": [None, "gauss"], "data": [torch.zeros(6, 3, dtype=F64)]},
    ),
    Call(
        fields.empirical_velocity,
        lambda: {"x": _x(), "t": 0.5, "data": _x(6, seed=1), "kernel": GK},
        {"x": "finite", "t": "float>0", "data": "finite", "kernel": "object"},
        bad={"kernel": [None, "gauss"]},
    ),
    Call(
        fields.prior_sample,
        lambda: {
            "data": _x(6),
            "T": 2.0,
            "kernel": GK,
            "n": 3,
            "generator": _gen(),
        },
        {
            "data": "finite",
            "T": "float>0",
            "kernel": "object",
            "n": "int>=1",
            "generator": "generator|None",
        },
        bad={"kernel": [None, "gauss"], "data": [torch.zeros(0, 2, dtype=F64)]},
    ),
    Call(
        fields.scale_ode_sample,
        lambda: {
            "data": _x(6),
            "kernel": GK,
            "x_T": _x(3, seed=1),
            "T": 2.0,
            "t_min": 0.5,
            "rtol": 1e-2,
            "atol": 1e-2,
        },
        {
            "data": "finite",
            "kernel": "object",
            "x_T": "finite",
            "T": "float>0",
            "t_min": "float>0",
            "rtol": "float>0",
            "atol": "float>0",
        },
        bad={"kernel": [None, "gauss"], "t_min": [3.0]},
    ),
    Call(
        fields.pfgm_perturb_original,
        lambda: {
            "x0": _x(),
            "sigma": 0.01,
            "tau": 0.03,
            "M": 10.0,
            "generator": _gen(),
        },
        {
            "x0": "finite",
            "sigma": "float>0",
            "tau": "float>=0",
            "M": "float>=0",
            "generator": "generator|None",
        },
    ),
    # ------------------------------------------------------------------ SiD (distill)
    Call(
        distill.sid_generator_loss,
        lambda: {
            "teacher": _model,
            "fake": _model,
            "x_g": _x(),
            "sched": VP,
            "form": "L2-lam*L1",
            "lam": 1.2,
            "t_range": (0.05, 0.8),
            "generator": _gen(),
        },
        {
            "teacher": "callable",
            "fake": "callable",
            "x_g": "tensor",
            "sched": "object",
            "form": "choice:L1|L2|L2-lam*L1|L3",
            "lam": "float>=0",
            "t_range": "object",
            "generator": "generator|None",
        },
        bad={
            "sched": BAD_CONT,
            "t_range": [None, "a", (0.5,), (0.8, 0.05), (0.0, 2.0)],
            "teacher": [lambda x, t: x[:, :1]],
            "fake": [lambda x, t: x[:, :1]],
        },
    ),
    Call(
        distill.fake_dsm_loss,
        lambda: {
            "fake": _model,
            "x_g": _x(),
            "sched": VP,
            "t_range": (0.05, 0.8),
            "generator": _gen(),
        },
        {
            "fake": "callable",
            "x_g": "tensor",
            "sched": "object",
            "t_range": "object",
            "generator": "generator|None",
        },
        bad={"sched": BAD_CONT, "t_range": [None, "a", (0.8, 0.05)]},
    ),
    Call(
        distill.TeacherInitGenerator,
        lambda: {
            "teacher": _model,
            "sched": VP,
            "dim": 2,
            "t_init": 0.5,
            "hidden": 4,
        },
        {
            "teacher": "callable",
            "sched": "object",
            "dim": "int>=1",
            "t_init": "float>0",
            "hidden": "int>=1",
        },
        bad={"sched": BAD_CONT, "t_init": [2.0]},
    ),
    Call(
        distill.TeacherInitGenerator(_model, VP, dim=2, hidden=4).forward,
        lambda: {"z": _x().float()},
        {"z": "tensor"},
        bad={"z": [torch.zeros(4, 3), torch.zeros(4)]},
    ),
    Call(
        distill.sid_distill,
        lambda: {
            "teacher": _model,
            "generator": distill.TeacherInitGenerator(_model, VP, dim=2, hidden=4),
            "fake": _Fake(),
            "sched": VP,
            "form": "L2-lam*L1",
            "lam": 1.2,
            "iters": 1,
            "batch": 4,
            "lr_g": 1e-3,
            "lr_f": 1e-3,
            "t_range": (0.05, 0.8),
            "fake_pretrain": 0,
            "dim": 2,
            "seed": 0,
            "snapshot_every": None,
            "n_snapshot": 4,
            "progress": False,
        },
        {
            "teacher": "callable",
            "generator": "object",
            "fake": "object",
            "sched": "object",
            "form": "choice:L1|L2|L2-lam*L1|L3",
            "lam": "float>=0",
            "iters": "int>=1",
            "batch": "int>=1",
            "lr_g": "float>0",
            "lr_f": "float>0",
            "t_range": "object",
            "fake_pretrain": "int>=0",
            "dim": "int>=1",
            "seed": "int>=0",
            "snapshot_every": "int>=1|None",
            "n_snapshot": "int>=1",
            "progress": "bool",
        },
        bad={
            "generator": [None, _model, torch.Generator()],
            "fake": [None, _model],
            "sched": BAD_CONT,
            "t_range": [None, (0.8, 0.05)],
            "dim": [3],
        },
    ),
    # ------------------------------------------------------------------ data
    Call(
        data.GaussianMixture,
        lambda: {
            "means": torch.zeros(2, 2, dtype=F64),
            "covs": torch.ones(2, dtype=F64),
            "weights": None,
        },
        {"means": "finite", "covs": "finite", "weights": "finite|None"},
        bad={
            "means": [torch.zeros(2), [[1.0, "a"]]],
            "covs": [-1.0, torch.ones(3), torch.tensor([[[1.0, 2.0], [0.0, 1.0]]] * 2)],
            "weights": [torch.ones(3), torch.tensor([-1.0, 2.0]), torch.zeros(2)],
        },
    ),
    Call(
        RING.sample,
        lambda: {"n": 3, "generator": _gen()},
        {"n": "int>=1", "generator": "generator|None"},
    ),
    Call(
        RING.log_prob,
        lambda: {"x": _x()},
        {"x": "finite"},
        bad={"x": [torch.zeros(4, 3, dtype=F64), torch.zeros(4, dtype=F64)]},
    ),
    Call(
        RING.score,
        lambda: {"x": _x()},
        {"x": "finite"},
        bad={"x": [torch.zeros(4, 3, dtype=F64)]},
    ),
    Call(
        RING.noised,
        lambda: {"signal": 0.5, "noise": 0.5},
        {"signal": "float>0", "noise": "float>=0"},
    ),
    Call(
        RING.noised_score,
        lambda: {"x": _x(), "a": 0.5, "b": 0.5},
        {"x": "finite", "a": "object", "b": "object"},
        bad={
            "a": [None, "a", -1.0, math.nan, torch.ones(3, dtype=F64)],
            "b": [None, "b", -1.0, math.inf],
        },
    ),
    Call(
        RING.eps_model,
        lambda: {"sched": VP},
        {"sched": "object"},
        bad={"sched": [None, "vp", 3]},
    ),
    Call(
        RING.eps_t,
        lambda: {"x": _x(), "t": 0.5, "sched": VP},
        {"x": "finite", "t": "finite", "sched": "object"},
        bad={"t": [0.0, 2.0, torch.ones(3, dtype=F64)], "sched": [None, "vp"]},
    ),
    Call(
        RING.marginal,
        lambda: {"t": 0.5, "sched": VP},
        {"t": "float>=0", "sched": "object"},
        bad={"t": [2.0], "sched": [None, "vp"]},
    ),
    Call(
        RING.score_t,
        lambda: {"x": _x(), "t": 0.5, "sched": VP},
        {"x": "finite", "t": "finite", "sched": "object"},
        bad={"t": [2.0, torch.ones(3, dtype=F64)], "sched": [None, "vp"]},
    ),
    Call(
        RING.posterior_sample,
        lambda: {"x": _x(), "t": 0.5, "sched": VP, "generator": _gen()},
        {
            "x": "finite",
            "t": "float>0",
            "sched": "object",
            "generator": "generator|None",
        },
        bad={"t": [2.0], "sched": [None, "vp"]},
    ),
    Call(
        RING.score_fn,
        lambda: {"sched": VP},
        {"sched": "object"},
        bad={"sched": [None, "vp", 3]},
    ),
    Call(
        data.ring_mixture,
        lambda: {"k": 4, "radius": 2.0, "std": 0.15},
        {"k": "int>=1", "radius": "float>=0", "std": "float>0"},
    ),
    Call(
        data.moons,
        lambda: {"n": 10, "noise": 0.05, "seed": 0, "standardize": True},
        {"n": "int>=2", "noise": "float>=0", "seed": "int>=0", "standardize": "bool"},
    ),
    Call(
        data.swiss_roll,
        lambda: {"n": 10, "noise": 0.3, "seed": 0, "standardize": True},
        {"n": "int>=2", "noise": "float>=0", "seed": "int>=0", "standardize": "bool"},
    ),
    Call(
        data.two_d,
        lambda: {"name": "moons", "n": 10, "seed": 0},
        {
            "name": "choice:moons|swiss_roll|gaussians",
            "n": "int>=2",
            "seed": "int>=0",
        },
    ),
    Call(
        data.digits,
        lambda: {"scale": (-1.0, 1.0)},
        {"scale": "object"},
        bad={"scale": [None, "a", (1.0, -1.0), (0.0,), (0.0, math.nan)]},
    ),
    Call(
        data.digits_images,
        lambda: {"scale": (-1.0, 1.0)},
        {"scale": "object"},
        bad={"scale": [None, "a", (1.0, -1.0)]},
    ),
    # ------------------------------------------------------------------ metrics
    Call(
        metrics.sliced_wasserstein,
        lambda: {
            "x": _x(),
            "y": _x(5, seed=1),
            "n_proj": 8,
            "p": 2,
            "seed": 0,
            "projections": None,
        },
        {
            "x": "finite",
            "y": "finite",
            "n_proj": "int>=1",
            "p": "int>=1",
            "seed": "int>=0",
        },
        bad={
            "y": [torch.zeros(5, 3, dtype=F64), torch.zeros(0, 2, dtype=F64)],
            "projections": [
                "a",
                np.full((2, 3), np.nan),
                np.full((2, 3), 10.0),
                np.ones((3, 3)),
            ],
        },
    ),
    Call(
        metrics.mmd2_rbf,
        lambda: {
            "x": _x(),
            "y": _x(5, seed=1),
            "bandwidths": (0.5, 1.0),
            "unbiased": True,
        },
        {"x": "finite", "y": "finite", "unbiased": "bool"},
        bad={
            "bandwidths": [None, "a", (), (0.0,), (math.nan,)],
            "y": [torch.zeros(5, 3, dtype=F64)],
        },
    ),
    Call(
        metrics.random_directions,
        lambda: {"d": 2, "n_proj": 3, "seed": 0},
        {"d": "int>=1", "n_proj": "int>=1", "seed": "int>=0"},
    ),
    Call(
        metrics.mode_stats,
        lambda: {
            "samples": _x(20),
            "centers": RING.means,
            "std": 0.15,
            "outlier_k": 4.0,
        },
        {
            "samples": "finite",
            "centers": "finite",
            "std": "float>0",
            "outlier_k": "float>0",
        },
        bad={"centers": [torch.zeros(4, 3, dtype=F64)]},
    ),
    Call(
        metrics.histogram_l1,
        lambda: {
            "samples": torch.randn(50, dtype=F64),
            "reference": torch.randn(60, dtype=F64),
            "grid": None,
            "bins": 10,
            "value_range": (-3.0, 3.0),
        },
        {
            "samples": "finite",
            "reference": "finite",
            "bins": "int>=1",
            "value_range": "object",
        },
        bad={
            "samples": [torch.zeros(0, dtype=F64), [math.nan, 1.0]],
            "value_range": [None, "a", (1.0, -1.0), (0.0, math.inf)],
        },
    ),
    Call(
        metrics.paired_difference,
        lambda: {"a": torch.randn(4, dtype=F64), "b": torch.randn(4, dtype=F64)},
        {"a": "finite", "b": "finite"},
        bad={"a": [torch.zeros(3, dtype=F64), [1.0]], "b": [[1.0, 2.0]]},
    ),
    Call(
        metrics.histogram_l1,
        lambda: {
            "samples": torch.randn(50, dtype=F64),
            "reference": torch.ones(5, dtype=F64),
            "grid": torch.linspace(-3, 3, 5, dtype=F64),
            "bins": 10,
        },
        {"grid": "finite|None"},
        name="kexue.metrics.histogram_l1[grid]",
        bad={
            "grid": [torch.tensor([3.0, -3.0, 0.0, 1.0, -1.0]), torch.zeros(4)],
        },
    ),
]

EXEMPT = {
    PRE + "schedules.SPACINGS": "a tuple constant (the spacing names)",
    PRE + "sde.PF_METHODS": "a tuple constant (the probability-flow methods)",
    PRE + "ode.ODE_METHODS": "a tuple constant (the ODE sampler methods)",
    PRE + "distill.FORMS": "a tuple constant (the SiD loss forms)",
    "kexue.data.toy.TWO_D": "a dict constant (name -> generator function)",
    PRE + "continuous.NoiseSchedule": "abstract base class; its subclasses are called",
    PRE + "fields.ScaleKernel": "abstract base class; its subclasses are called",
    PRE + "fields.ScaleKernel.log_q": "abstract method (NotImplementedError)",
    PRE + "fields.ScaleKernel.sample_z": "abstract method (NotImplementedError)",
}
