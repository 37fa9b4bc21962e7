"""Device and dtype mismatches, caught without a GPU.

Every tensor a public function creates must follow its input's device and dtype, so a
chapter run on CUDA (``KEXUE_SCALE=gpu``) or in float64 never mixes devices or silently
changes precision. For a representative set of public functions (samplers, schedules,
attention, linear attention, positions, metrics, the mixture oracle's scores):

* **dtype**: float32 inputs while the default dtype is float64, and float64 inputs while
  it is float32. A tensor created with the default dtype instead of the input's shows up
  as an output of the wrong dtype.
* **device**: inputs on the ``meta`` device (no data, any shape). A tensor created on
  the default device (CPU), or a CPU buffer the function keeps (a schedule's table, a
  mixture's means), either raises torch's device-mismatch error or leaves an output on
  the CPU. Where a function reads values on the host (validation such as
  ``bool((x < 0).any())``, NumPy metrics), meta cannot run it; the check then falls back
  to CPU inputs with the default device set to ``meta``, where a factory call without
  ``device=`` gives a meta tensor that mixes with the CPU inputs or comes out. A case
  whose host reads defeat both probes is skipped, saying so.

Functions with no tensor input (``alibi_bias``, ``sinusoidal_position_embedding``,
``sample_times``) follow torch's convention (the default device and dtype) and are not
listed; ``causal_mask`` takes ``device=`` and is checked with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from kexue import attention as A
from kexue import data, metrics
from kexue import diffusion as D
from kexue.diffusion import fields as FL

F32, F64 = torch.float32, torch.float64


@dataclass
class Case:
    name: str
    run: Callable  # run(make, device) -> result; make(*shape) builds an input tensor
    follows_dtype: bool = True  # False: no float input, or a documented fixed dtype
    xfail_dtype: str | None = None
    xfail_device: str | None = None


def _eps(x, t):
    return 0.1 * x


SCHED = D.DiscreteSchedule.linear(100)
VP = D.VPSchedule()
GM = data.ring_mixture(4)
CASES = [
    # ---- discrete samplers and the forward process ----
    Case("ddim_sample", lambda m, d: D.ddim_sample(_eps, m(8, 2), SCHED, steps=4)),
    Case(
        "ddim_sample(eta=1)",
        lambda m, d: D.ddim_sample(_eps, m(8, 2), SCHED, steps=4, eta=1.0),
    ),
    Case(
        "ddpm_sample",
        lambda m, d: D.ddpm_sample(_eps, m(8, 2), D.DiscreteSchedule.linear(10)),
    ),
    Case("ddim_invert", lambda m, d: D.ddim_invert(_eps, m(8, 2), SCHED, steps=4)),
    Case("ddim_step", lambda m, d: D.ddim_step(m(8, 2), m(8, 2), 50, 20, SCHED, eta=1)),
    Case("ddpm_step", lambda m, d: D.ddpm_step(m(8, 2), m(8, 2), 50, SCHED)),
    Case("slerp", lambda m, d: D.slerp(m(8, 2), m(8, 2), [0.0, 0.3, 1.0])),
    Case("q_sample", lambda m, d: D.q_sample(m(8, 2), 30, SCHED)),
    Case("eps_to_x0", lambda m, d: D.eps_to_x0(m(8, 2), m(8, 2), 30, SCHED)),
    Case("x0_to_eps", lambda m, d: D.x0_to_eps(m(8, 2), m(8, 2), 30, SCHED)),
    Case("dsm_loss(discrete)", lambda m, d: D.dsm_loss(_eps, m(8, 2), SCHED)),
    # ---- continuous schedules and samplers ----
    Case("VPSchedule.perturb", lambda m, d: VP.perturb(m(8, 2), 0.5)),
    Case(
        "VPSchedule.signal",
        lambda m, d: VP.signal(m(8).sigmoid()),
        follows_dtype=False,  # documented: float64 coefficients for any t
    ),
    Case("eps_to_score", lambda m, d: D.eps_to_score(m(8, 2), 0.5, VP)),
    Case("dsm_loss(VP)", lambda m, d: D.dsm_loss(_eps, m(8, 2), VP)),
    Case(
        "reverse_sde_sample",
        lambda m, d: D.reverse_sde_sample(_eps, m(8, 2), VP, steps=4),
    ),
    Case("pf_ode_sample", lambda m, d: D.pf_ode_sample(_eps, m(8, 2), VP, steps=4)),
    Case(
        "forward_sde_simulate",
        lambda m, d: D.forward_sde_simulate(m(8, 2), VP, steps=4),
    ),
    Case(
        "ode_sample(euler)",
        lambda m, d: D.ode_sample(_eps, m(8, 2), method="euler", n_steps=4),
    ),
    Case(
        "ode_solve(heun)",
        lambda m, d: D.ode_solve(lambda s, y: -y, m(8, 2), 1.0, 0.5, n_steps=4),
    ),
    # ---- attention ----
    Case(
        "attention(auto)",
        lambda m, d: A.attention(m(2, 3, 5, 4), m(2, 3, 7, 4), m(2, 3, 7, 4)),
    ),
    Case(
        "attention(math, causal, weights)",
        lambda m, d: A.attention(
            m(2, 3, 5, 4),
            m(2, 3, 7, 4),
            m(2, 3, 7, 4),
            is_causal=True,
            backend="math",
            return_weights=True,
        ),
    ),
    Case(
        "attention(bias, relu)",
        lambda m, d: A.attention(
            m(2, 3, 5, 4),
            m(2, 3, 7, 4),
            m(2, 3, 7, 4),
            bias=m(3, 5, 7),
            normalization="relu2_mean",
            backend="math",
        ),
    ),
    Case(
        "attention_weights",
        lambda m, d: A.attention_weights(m(2, 5, 4), m(2, 7, 4), is_causal=True),
    ),
    Case("normalize_logits", lambda m, d: A.normalize_logits(m(2, 5, 7))),
    Case(
        "MultiHeadAttention",
        lambda m, d: A.MultiHeadAttention(8, 2).to(m(1).dtype).to(d)(m(2, 5, 8)),
    ),
    Case("softmax_entropy", lambda m, d: A.softmax_entropy(m(2, 5, 7))),
    Case(
        "per_query_scale",
        lambda m, d: A.per_query_scale(A.causal_mask(5, 7, device=d), 4),
        follows_dtype=False,  # a bool mask in: the default float dtype out
    ),
    Case(
        "causal_mask(device=)",
        lambda m, d: A.causal_mask(5, 7, device=d),
        follows_dtype=False,
    ),
    # ---- linear attention and feature maps ----
    Case(
        "linear_attention",
        lambda m, d: A.linear_attention(
            m(2, 3, 5, 4), m(2, 3, 7, 4), m(2, 3, 7, 4), A.elu_plus_one
        ),
    ),
    Case(
        "linear_attention(causal)",
        lambda m, d: A.linear_attention(
            m(2, 3, 7, 4), m(2, 3, 7, 4), m(2, 3, 7, 4), A.elu_plus_one, causal=True
        ),
    ),
    Case(
        "kernel_attention",
        lambda m, d: A.kernel_attention(
            m(2, 5, 4), m(2, 7, 4), m(2, 7, 4), A.exp_kernel
        ),
    ),
    Case(
        "positive_random_features",
        lambda m, d: A.positive_random_features(m(2, 5, 4), m(16, 4)),
    ),
    Case("taylor_features", lambda m, d: A.taylor_features(m(2, 5, 4), 2)),
    Case("exp_limit_features", lambda m, d: A.exp_limit_features(m(2, 5, 4), 4)),
    Case(
        "PerformerFeatures",
        lambda m, d: A.PerformerFeatures(4, 16).to(m(1).dtype).to(d)(m(2, 5, 4)),
    ),
    # ---- positions ----
    Case("apply_rotary", lambda m, d: A.apply_rotary(m(2, 3, 5, 4))),
    Case(
        "rope_angles",
        lambda m, d: A.rope_angles(torch.arange(5, device=d), 4),
        follows_dtype=False,  # integer positions in: float64 angles by design
    ),
    Case(
        "RelativePositionBias",
        lambda m, d: A.RelativePositionBias(3).to(m(1).dtype).to(d)(5, 7),
        follows_dtype=False,  # no tensor input: follows its parameters (checked below)
    ),
    Case(
        "t5_relative_bucket",
        lambda m, d: A.t5_relative_bucket(torch.arange(-3, 4, device=d)),
        follows_dtype=False,
    ),
    # ---- metrics (NumPy inside: the answer is a float, any input device) ----
    Case(
        "sliced_wasserstein",
        lambda m, d: metrics.sliced_wasserstein(m(8, 2), m(9, 2), n_proj=8),
    ),
    Case("mmd2_rbf", lambda m, d: metrics.mmd2_rbf(m(8, 2), m(9, 2))),
    # ---- the mixture oracle's scores ----
    Case(
        "GaussianMixture.score",
        lambda m, d: GM.score(m(8, 2)),
    ),
    Case(
        "GaussianMixture.log_prob",
        lambda m, d: GM.log_prob(m(8, 2)),
    ),
    Case(
        "GaussianMixture.score_t",
        lambda m, d: GM.score_t(m(8, 2), 0.5, VP),
    ),
    Case(
        "GaussianMixture.eps_t",
        lambda m, d: GM.eps_t(m(8, 2), 0.5, VP),
    ),
    Case(
        "GaussianMixture.posterior_sample",
        lambda m, d: GM.posterior_sample(m(8, 2), 0.5, VP),
    ),
    Case(  # float64 by design (exact fields): the device is what is checked
        "fields.prior_sample",
        lambda m, d: FL.prior_sample(m(8, 2), 1.0, FL.GaussianKernel(), 5),
        follows_dtype=False,
    ),
]


def _tensors(r) -> list[torch.Tensor]:
    if isinstance(r, torch.Tensor):
        return [r]
    if isinstance(r, (tuple, list)):
        return [t for x in r for t in _tensors(x)]
    if isinstance(r, dict):
        return [t for x in r.values() for t in _tensors(x)]
    return []


def _maker(dtype, device):
    """Inputs: standard normal on the CPU (fixed seed), or empty on meta."""
    g = torch.Generator().manual_seed(0)

    def make(*shape):
        if torch.device(device).type == "meta":
            return torch.empty(*shape, dtype=dtype, device="meta")
        return torch.randn(*shape, generator=g, dtype=dtype, device=device)

    return make


def _host_read(err: BaseException) -> bool:
    """Meta has no values: a host read (``.item()``, ``bool()``, NumPy) fails."""
    msg = str(err)
    return isinstance(err, (RuntimeError, NotImplementedError)) and (
        "cannot be called on meta tensors" in msg
        or "Cannot copy out of meta tensor" in msg
        or "cannot be converted to Scalar" in msg
        or "on tensors with no data" in msg
    )


def _param(case: Case, which: str, *extra, id_extra: str = ""):
    reason = case.xfail_dtype if which == "dtype" else case.xfail_device
    if which == "dtype" and extra and extra[0] == F64:
        reason = None  # float64 in: a float64-only computation follows it
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, *extra, id=case.name + id_extra, marks=marks)


@pytest.fixture
def default_dtype():
    old = torch.get_default_dtype()
    yield torch.set_default_dtype
    torch.set_default_dtype(old)


@pytest.mark.parametrize(
    "case, inp, default",
    [
        _param(c, "dtype", inp, default, id_extra=f"-{str(inp)[6:]}-in")
        for c in CASES
        if c.follows_dtype
        for inp, default in [(F32, F64), (F64, F32)]
    ],
)
def test_outputs_follow_the_input_dtype(case, inp, default, default_dtype):
    default_dtype(default)
    out = case.run(_maker(inp, "cpu"), "cpu")
    wrong = [
        (tuple(t.shape), t.dtype)
        for t in _tensors(out)
        if t.is_floating_point() and t.dtype != inp
    ]
    assert not wrong, f"{inp} in, default {default}: outputs {wrong}"


@pytest.mark.parametrize("case", [_param(c, "device") for c in CASES])
def test_outputs_follow_the_input_device(case):
    try:
        out = case.run(_maker(F32, "meta"), "meta")
    except Exception as err:  # noqa: BLE001 - sorted below
        if not _host_read(err):
            raise
    else:
        off = [(tuple(t.shape), str(t.device)) for t in _tensors(out)]
        off = [o for o in off if o[1] != "meta"]
        assert not off, f"inputs on meta, outputs {off}"
        return
    # The function reads values on the host: CPU inputs, default device meta.
    try:
        with torch.device("meta"):
            out = case.run(_maker(F32, "cpu"), "cpu")
    except Exception as err:  # noqa: BLE001
        if _host_read(err):
            pytest.skip(f"reads values on the host under both probes: {err}")
        raise
    off = [(tuple(t.shape), str(t.device)) for t in _tensors(out)]
    off = [o for o in off if o[1] != "cpu"]
    assert not off, f"CPU inputs, default device meta: outputs {off}"


def test_the_device_probe_catches_a_cpu_buffer():
    """The probe can fail: a function that keeps a CPU table is caught on meta."""
    table = torch.linspace(0, 1, 5)

    def leaky(x):
        return x * table  # table stays on the CPU

    with pytest.raises(RuntimeError, match="device"):
        leaky(torch.empty(5, device="meta"))

    def factory(x):
        return x + torch.ones(x.shape)  # no device=: the default device

    with torch.device("meta"):
        assert factory(torch.randn(5)).device.type == "meta"  # the output shows it


def test_the_dtype_probe_catches_a_default_dtype_tensor(default_dtype):
    default_dtype(F64)

    def leaky(x):
        return x * torch.linspace(0, 1, x.shape[-1])  # no dtype=: the default

    assert leaky(torch.randn(5)).dtype == F64  # promoted: the probe sees it
