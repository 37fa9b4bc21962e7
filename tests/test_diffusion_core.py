"""The library review's architecture and numerics findings, each as a test that fails on
the old code.

Import graph (no cycles, data never imports diffusion), the shared core (one Tweedie
formula, one model-output check), clamped continuous times, stationary Fokker-Planck
residuals, the rejected noise-free chain, the copied alphas_cumprod, and mixture oracles
that follow x's device and dtype.
"""

import subprocess
import sys

import kexue.diffusion as kd
import pytest
import torch
from kexue import data

D = torch.float64


# --------------------------------------------------------------------------------------
# imports
@pytest.mark.parametrize(
    "module",
    [
        "kexue.diffusion.schedules",
        "kexue.diffusion.continuous",
        "kexue.diffusion.forward",
        "kexue.diffusion.samplers",
        "kexue.diffusion.sde",
        "kexue.diffusion.ode",
        "kexue.diffusion",
        "kexue.data.mixture",
        "kexue.data",
        "kexue.metrics",
    ],
)
def test_each_module_imports_cold(module):
    """A fresh interpreter imports the module on its own; data and metrics never load
    diffusion (old code: data.mixture -> diffusion.continuous, deferred inside
    methods)."""
    code = f"import sys, {module}; print(int('kexue.diffusion' in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    if module.startswith(("kexue.data", "kexue.metrics")):
        assert out == ["0"]


def _imports(module) -> set[str]:
    """Every module a source file imports, at top level or inside functions (``.x`` kept
    relative)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(module))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_layers_point_one_way():
    """schedules imports nothing of continuous, anywhere (old code: a deferred import
    inside from_continuous, with continuous importing schedules at the top: hoisting
    it gave ImportError: partially initialized module); data.mixture imports nothing
    of diffusion."""
    import kexue.data.mixture as mixture
    import kexue.diffusion._core as core
    import kexue.diffusion.continuous as continuous
    import kexue.diffusion.schedules as schedules

    assert not any("continuous" in m for m in _imports(schedules))
    assert ".schedules" in _imports(continuous)
    assert not any("diffusion" in m for m in _imports(mixture))
    assert {
        m for m in _imports(core) if m.startswith(".") and m != ".._validate"
    } == set()


def test_discretize_equals_from_continuous_and_is_variance_preserving():
    vp = kd.VPSchedule()
    a, b = vp.discretize(50), kd.DiscreteSchedule.from_continuous(vp, 50)
    torch.testing.assert_close(a.alphas_cumprod, b.alphas_cumprod, rtol=0, atol=0)
    t = torch.arange(1, 51, dtype=D) / 50
    torch.testing.assert_close(a.signal[1:], vp.signal(t), rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="variance preserving"):
        kd.VESchedule().discretize(10)
    with pytest.raises(TypeError, match="sched"):
        kd.DiscreteSchedule.from_continuous("vp", 10)


# --------------------------------------------------------------------------------------
# numerics
def test_vp_times_in_the_tolerance_band_are_clamped():
    """``VP.noise(-5e-10)`` was NaN (signal 1 + 2.5e-11 > 1); now the boundary value."""
    vp = kd.VPSchedule()
    for t in (-5e-10, -1e-9):
        assert float(vp.noise(t)) == 0.0 and float(vp.signal(t)) == 1.0
    assert float(vp.noise(1 + 5e-10)) == float(vp.noise(1.0))
    assert torch.isfinite(vp.log_snr(torch.tensor([-5e-10, 0.5]))).sum() == 1
    with pytest.raises(ValueError, match="range"):
        vp.noise(-1e-6)


def test_fokker_planck_residual_of_a_stationary_density_is_zero():
    """The stationary OU law N(0, I) of dx = -x dt + sqrt(2) dw: log p does not depend
    on t (old code: autograd RuntimeError, missing allow_unused). The residual is 0
    up to round-off; a wrong density (variance 2) gives a residual of order 1."""
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=D)
    drift = lambda x, t: -x  # noqa: E731
    res = kd.fokker_planck_residual(
        lambda x, t: -0.5 * (x**2).sum(1), drift, 2.0, x, 0.3
    )
    assert res.abs().max() < 1e-12
    wrong = kd.fokker_planck_residual(
        lambda x, t: -0.25 * (x**2).sum(1), drift, 2.0, x, 0.3
    )
    assert wrong.abs().mean() > 0.1


def test_a_chain_with_no_noise_at_T_is_rejected():
    """``DiscreteSchedule([1, 1, 1])`` was accepted and ddpm_step returned NaN (0/0)."""
    with pytest.raises(ValueError, match="alphas_cumprod"):
        kd.DiscreteSchedule([1.0, 1.0, 1.0])
    kd.DiscreteSchedule([1.0, 1.0, 0.5])  # noise at the last step is enough


def test_alphas_cumprod_is_copied():
    ac = torch.linspace(0.99, 0.5, 10, dtype=D)
    s = kd.DiscreteSchedule(ac)
    ac[0] = 0.1
    assert float(s.alphas_cumprod[0]) == pytest.approx(0.99)
    torch.testing.assert_close(s.signal[1:] ** 2, s.alphas_cumprod)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mixture_oracles_follow_x_device_and_dtype(dtype):
    """On the meta device (a stand-in for CUDA) the oracles run and return meta tensors
    of x's dtype; the old code raised 'Tensor on device cpu is not on the expected
    device'."""
    ring, vp = data.ring_mixture(4), kd.VPSchedule()
    x = torch.zeros(5, 2, dtype=dtype, device="meta")
    for out in (ring.score(x), ring.log_prob(x), ring.score_t(x, 0.5, vp)):
        assert out.device.type == "meta" and out.dtype == dtype
    x_cpu = torch.randn(5, 2, dtype=dtype)
    t_cpu = torch.full((5,), 0.5, dtype=dtype)
    assert ring.eps_model(vp)(x_cpu, t_cpu).dtype == dtype
    assert ring.posterior_sample(x_cpu, 0.5, vp).dtype == dtype


def test_the_discrete_oracle_takes_one_time_per_row_and_works_in_dsm_loss():
    """The library's own exact discrete eps-model could not be used with its own
    discrete dsm_loss ('the mixture oracle expects one time per batch'). Per-row
    times equal the one-time calls."""
    ring, d = data.ring_mixture(4), kd.DiscreteSchedule.linear(20)
    model = ring.eps_model(d)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1), dtype=D)
    t = torch.tensor([1, 3, 3, 10, 20, 7], dtype=D) / 20
    rows = torch.cat([model(x[k : k + 1], t[k : k + 1]) for k in range(6)])
    torch.testing.assert_close(model(x, t), rows, rtol=1e-12, atol=1e-12)
    x0 = ring.sample(256, generator=torch.Generator().manual_seed(2))
    loss = kd.dsm_loss(model, x0, d, generator=torch.Generator().manual_seed(3))
    # the exact model's loss is E||eps - E[eps|x_t]||^2 < 1 per coordinate (the zero
    # model's is 1)
    zero = kd.dsm_loss(
        lambda x, t: 0 * x, x0, d, generator=torch.Generator().manual_seed(3)
    )
    assert 0 < float(loss) < 0.8 * float(zero)


# --------------------------------------------------------------------------------------
# one check
@pytest.mark.parametrize(
    "run",
    [
        lambda m: kd.dsm_loss(m, torch.randn(8, 2), kd.DiscreteSchedule.linear(20)),
        lambda m: kd.dsm_loss(m, torch.randn(8, 2), kd.VPSchedule()),
        lambda m: kd.ode_sample(m, torch.randn(8, 2), method="euler", n_steps=3),
        lambda m: kd.su_ode_velocity(m)(0.5, torch.randn(8, 2)),
        lambda m: kd.ddim_sample(
            m, torch.randn(8, 2), kd.DiscreteSchedule.linear(20), steps=4
        ),
        lambda m: kd.ddim_invert(
            m, torch.randn(8, 2), kd.DiscreteSchedule.linear(20), steps=4
        ),
        lambda m: kd.pf_ode_sample(m, torch.randn(8, 2), kd.VPSchedule(), steps=3),
        lambda m: kd.reverse_sde_sample(m, torch.randn(8, 2), kd.VPSchedule(), steps=3),
    ],
    ids=[
        "dsm-discrete",
        "dsm-cont",
        "ode_sample",
        "su_velocity",
        "ddim",
        "invert",
        "pf",
        "sde",
    ],
)
def test_a_b1_model_output_never_broadcasts(run):
    """Old code: dsm_loss on a discrete chain, ode_sample and su_ode_velocity broadcast
    (B, 1) silently (ode_sample returned |x| = 182)."""
    with pytest.raises(ValueError, match="shaped like"):
        run(lambda x, t: x[:, :1])


def test_one_tweedie_formula():
    x, eps = torch.randn(4, 3, dtype=D), torch.randn(4, 3, dtype=D)
    a, b = torch.rand(4, dtype=D) + 0.1, torch.rand(4, dtype=D)
    x0 = kd.x0_from_eps(x, eps, a, b)
    torch.testing.assert_close(
        a[:, None] * x0 + b[:, None] * eps, x, rtol=1e-13, atol=0
    )
    torch.testing.assert_close(kd.eps_from_x0(x, x0, a, b), eps, rtol=1e-10, atol=1e-12)
    # the discrete and continuous wrappers are the same formula
    d = kd.DiscreteSchedule.linear(20)
    i = torch.tensor([1, 5, 10, 20])
    torch.testing.assert_close(
        kd.eps_to_x0(x, eps, i, d), kd.x0_from_eps(x, eps, d.signal[i], d.noise[i])
    )


def test_int_tensors_are_rejected_not_truncated():
    d = kd.DiscreteSchedule.linear(20)
    xi = torch.ones(3, 2, dtype=torch.long)
    with pytest.raises(TypeError, match="x"):
        kd.eps_to_x0(xi, torch.zeros(3, 2, dtype=D), 10, d)
    with pytest.raises(TypeError, match="x"):
        kd.x0_to_eps(xi, torch.zeros(3, 2, dtype=D), 10, d)
    with pytest.raises(TypeError, match="z1"):
        kd.slerp(xi, xi, [0.0, 0.5])
