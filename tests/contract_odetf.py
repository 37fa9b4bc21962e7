"""Bad-input registry for kexue.diffusion.heat, .construction and .testfn (ode-direct,
ode-construction and test-functions chapters). See tests/contract.py for the kinds."""

import numpy as np
import torch
from contract import Call
from kexue import data
from kexue.diffusion import construction, fields, heat, testfn

_RING = data.ring_mixture(4, radius=1.0, std=0.2)
_LINE = data.GaussianMixture([[-1.0], [1.0]], [0.04, 0.04])
_GRID = np.linspace(-3, 3, 61)
_DENS = np.exp(-(_GRID**2) / 2) / np.sqrt(2 * np.pi)
_NET = heat.LogTimeNet(torch.nn.Identity(), 1e-3, 20.0)
_NET.net = type("Net", (torch.nn.Module,), {"forward": lambda self, x, tau: x})()
_NOT_A_MIX = [3, "mix"]
_PHI = (lambda y: y**2, lambda y: 2 * y, lambda y: 2 + 0 * y)


def _NAN(y):
    return y * float("nan")


def _x(n=6, d=2, seed=0):
    return torch.randn(
        n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )


def _pts():
    return torch.tensor([[-1.5], [0.2], [1.3]], dtype=torch.float64)


def _paths():
    return heat.heat_paths_1d(_LINE, t_max=1.0, n_paths=3, steps=4)


def _kpaths():
    k = fields.GaussianKernel()
    return {k.name: construction.kernel_paths_1d(_pts(), k, T=1.0, n_paths=3, steps=4)}


CALLS = [
    Call(
        heat.mixture_log_prob_t,
        lambda: dict(mix=_RING, x=_x(), t=torch.full((6,), 0.5, dtype=torch.float64)),
        {"x": "tensor", "t": "tensor", "mix": "object"},
        bad={"mix": _NOT_A_MIX},
    ),
    Call(
        heat.LogTimeNet,
        lambda: dict(net=torch.nn.Identity(), t_min=1e-3, t_max=20.0, data_std=1.0),
        {
            "net": "object",
            "t_min": "float>0",
            "t_max": "float>0",
            "data_std": "float>0",
        },
        bad={"net": [3]},
    ),
    Call(
        _NET.forward,
        lambda: dict(x=_x(), t=torch.full((6,), 0.5, dtype=torch.float64)),
        {"x": "tensor", "t": "tensor"},
        name="kexue.diffusion.heat.LogTimeNet.forward",
    ),
    Call(
        heat.log_uniform_times,
        lambda: dict(n=5, t_min=1e-3, t_max=20.0, generator=None),
        {
            "n": "int>=1",
            "t_min": "float>0",
            "t_max": "float>0",
            "generator": "generator|None",
        },
    ),
    Call(heat.train_sizes, dict, {}),
    Call(
        heat.nn_gap,
        lambda: dict(samples=_x(8), train=_x(5, seed=1), held_out=_x(5, seed=2)),
        {"samples": "tensor", "train": "tensor", "held_out": "tensor"},
    ),
    Call(
        heat.copy_excess,
        lambda: dict(
            samples={"a": _x(8)},
            train=_x(5, seed=1),
            reference=_x(8, seed=3),
            held_sets=[_x(5, seed=2)],
            copy_idx=torch.arange(5),
            shares=(0.2,),
        ),
        {"samples": "object", "train": "tensor", "reference": "tensor"},
        bad={
            "samples": [[1], {}],
            "held_sets": [[], [_x(4, seed=2)]],
            "copy_idx": [torch.arange(5) + 10, torch.zeros(5)],
            "shares": [(0.0,), (1.5,)],
        },
    ),
    Call(
        heat.prior_kl,
        lambda: dict(mix=_RING, sigma=2.0, nodes=10),
        {"mix": "object", "sigma": "float>0", "nodes": "int>=2"},
        bad={"mix": _NOT_A_MIX},
    ),
    Call(
        heat.heat_paths_1d,
        lambda: dict(mix=_LINE, t_max=1.0, n_paths=3, steps=4, seed=0),
        {
            "mix": "object",
            "t_max": "float>0",
            "n_paths": "int>=1",
            "steps": "int>=1",
            "seed": "int>=0",
        },
        bad={"mix": _NOT_A_MIX},
    ),
    Call(
        heat.draw_heat_ode_1d,
        lambda: dict(mix=_LINE, times=_paths()[0], paths=_paths()[1], t=0.5, t_max=1.0),
        {
            "mix": "object",
            "times": "tensor",
            "paths": "tensor",
            "t": "float>0",
            "t_max": "float>0",
        },
        bad={"mix": _NOT_A_MIX},
    ),
    Call(
        construction.empirical_log_prob_t,
        lambda: dict(
            x=_x(),
            t=torch.full((6,), 0.5, dtype=torch.float64),
            data=_x(4, seed=3),
            kernel=fields.PoissonKernel(),
        ),
        {"x": "tensor", "t": "tensor", "data": "tensor", "kernel": "object"},
        bad={"kernel": [3]},
    ),
    Call(
        construction.landing_uniformity,
        lambda: dict(samples=_x(20), data=_x(4, seed=3), n_sim=10, seed=0),
        {"samples": "tensor", "data": "tensor", "n_sim": "int>=1", "seed": "int>=0"},
    ),
    Call(
        construction.landing_count,
        lambda: dict(
            data=_x(3, seed=3),
            kernel=fields.GaussianKernel(),
            x_T=_x(5),
            out=_x(5, seed=1),
            T=2.0,
            radius=0.1,
            t_min=0.01,
            n_check=2,
            tol=1e-5,
            alpha=1e-4,
        ),
        {
            "data": "tensor",
            "kernel": "object",
            "x_T": "tensor",
            "out": "tensor",
            "T": "float>0",
            "radius": "float>0",
            "t_min": "float>0",
            "n_check": "int>=1",
            "tol": "float>0",
            "alpha": "prob",
        },
        bad={"kernel": [3], "alpha": [0.0, 1.0], "out": [_x(4)]},
    ),
    Call(
        construction.lambda_flow_1d,
        lambda: dict(x=_x(5, 1)[:, 0], lam_dot=0.05, t0=1.0, t1=2.0, steps=4),
        {
            "x": "tensor",
            "lam_dot": "float>=0",
            "t0": "float>0",
            "t1": "float>0",
            "steps": "int>=1",
        },
        bad={"x": [_x(5)], "t1": [0.5]},
    ),
    Call(
        construction.radial_cdf,
        lambda: dict(kernel=fields.PoissonKernel(), r=np.array([0.5, 2.0]), d=2),
        {"kernel": "object", "r": "object", "d": "int>=1"},
        bad={"kernel": [3], "r": ["x", None, [-1.0], [np.nan]]},
    ),
    Call(
        construction.radial_pdf,
        lambda: dict(kernel=fields.GaussianKernel(), r=np.array([0.5, 2.0]), d=2),
        {"kernel": "object", "r": "object", "d": "int>=1"},
        bad={"kernel": [3], "r": ["x", None, [-1.0], [np.inf]]},
    ),
    Call(
        construction.prior_tv,
        lambda: dict(
            data=_x(4, seed=3), T=5.0, kernel=fields.PoissonKernel(), n=20, seed=0
        ),
        {
            "data": "tensor",
            "T": "float>0",
            "kernel": "object",
            "n": "int>=2",
            "seed": "int>=0",
        },
        bad={"kernel": [3]},
    ),
    Call(
        construction.kernel_paths_1d,
        lambda: dict(
            points=_pts(),
            kernel=fields.GaussianKernel(),
            T=1.0,
            n_paths=3,
            steps=4,
            seed=0,
        ),
        {
            "points": "tensor",
            "kernel": "object",
            "T": "float>0",
            "n_paths": "int>=1",
            "steps": "int>=1",
            "seed": "int>=0",
        },
        bad={"kernel": [3]},
    ),
    Call(
        construction.draw_kernel_demo,
        lambda: dict(
            kernels={"Gaussian": fields.GaussianKernel()},
            paths=_kpaths(),
            kernel="Gaussian",
            d=2,
            window=6.0,
        ),
        {
            "kernels": "object",
            "paths": "object",
            "kernel": "choice:Gaussian",
            "d": "int>=1",
            "window": "float>0",
        },
        bad={"kernels": [3], "paths": [None]},
    ),
    Call(
        testfn.sample_grid_density,
        lambda: dict(density=_DENS, grid=_GRID, n=5, seed=0),
        {"density": "object", "grid": "object", "n": "int>=1", "seed": "int>=0"},
        bad={"density": [None, "x", _DENS[:5], -_DENS], "grid": [None, _GRID[::-1]]},
    ),
    Call(
        testfn.histogram_noise_floor,
        lambda: dict(density=_DENS, grid=_GRID, n=50, draws=2, seed=0, bins=10),
        {
            "density": "object",
            "grid": "object",
            "n": "int>=1",
            "draws": "int>=1",
            "seed": "int>=0",
            "bins": "int>=1",
        },
        bad={
            "density": [None, "x", 0 * _DENS],
            "grid": [None],
            "value_range": [None, (1.0,), (1.0, -1.0), ("a", 1.0)],
        },
    ),
    Call(
        testfn.weak_form_gap,
        lambda: dict(
            paths=_x(3, 4),
            dt_saved=0.1,
            drift=lambda x, t: -x,
            g2=1.0,
            phi=_PHI,
            coef=0.5,
        ),
        {
            "paths": "finite",
            "dt_saved": "float>0",
            "drift": "callable",
            "g2": "float>=0",
            "phi": "object",
            "coef": "object",
        },
        bad={
            "paths": [None, _x(1, 4), _x(3, 1), torch.zeros(3, 4, 1)],
            "drift": [lambda x, t: x[:1]],
            "phi": [None, (torch.cos,), (1, 2, 3), (torch.cos, torch.sin, _NAN)],
            "coef": [None, "x", float("nan")],
        },
    ),
    Call(
        testfn.weak_form_coefficient,
        lambda: dict(
            paths=_x(3, 4), dt_saved=0.1, drift=lambda x, t: -x, g2=1.0, phi=_PHI
        ),
        {
            "paths": "finite",
            "dt_saved": "float>0",
            "drift": "callable",
            "g2": "float>=0",
            "phi": "object",
        },
        bad={
            "paths": [None, _x(1, 4)],
            "phi": [None, (torch.cos,), (torch.cos, torch.sin, lambda y: 0 * y)],
            "g2": [0.0],
        },
    ),
    Call(
        testfn.density_l1,
        lambda: dict(p=_DENS, q=_DENS, grid=_GRID),
        {"p": "object", "q": "object", "grid": "object"},
        bad={"p": [None, "x"], "q": [None, _DENS[:3]], "grid": [None]},
    ),
    Call(
        testfn.pf_ode_particles_1d,
        lambda: dict(
            drift=lambda x, t: -x,
            g2=1.0,
            x0=np.zeros(4),
            grid=_GRID,
            times=np.array([0.0, 0.1]),
            P=np.stack([_DENS, _DENS]),
        ),
        {
            "drift": "callable",
            "g2": "float>=0",
            "x0": "object",
            "grid": "object",
            "times": "object",
            "P": "object",
        },
        bad={
            "x0": [None, "x"],
            "grid": [None],
            "times": [None, np.array([0.1, 0.0])],
            "P": [None, _DENS],
        },
    ),
    Call(
        testfn.fp_demo_frames,
        lambda: dict(
            drifts={"ou": lambda x, t: -x},
            gs=[0.5],
            ts=[0.01],
            x0=_x(10, 1),
            p0=_DENS,
            grid=_GRID,
            dt=5e-3,
            seed=0,
        ),
        {"drifts": "object", "dt": "float>0", "seed": "int>=0"},
        bad={"drifts": [3, {}], "gs": [[-1.0]], "ts": [[0.0]]},
    ),
    Call(
        testfn.draw_fp_demo,
        lambda: dict(
            frames=testfn.fp_demo_frames(
                {"ou": lambda x, t: -x}, [0.5], [0.01], _x(10, 1), _DENS, _GRID, dt=5e-3
            ),
            ts=[0.01],
            grid=_GRID,
            drift_name="ou",
            g=0.5,
            t=0.01,
        ),
        {"drift_name": "object", "t": "object"},
        bad={"drift_name": ["nope"], "t": [0.5]},
    ),
]

EXEMPT = {}
