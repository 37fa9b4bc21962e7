"""kexue.diffusion.sid_tools (sid chapter): teacher-initialised fake, the mode test, the
toy flow.
"""

import math

import kexue.diffusion as kd
import numpy as np
import pytest
import torch
from kexue import data
from kexue.diffusion import sid_tools

SU = kd.VPSchedule.su_quadratic()
RING = data.ring_mixture(8, radius=2.0, std=0.15)


def test_fake_starts_at_the_teacher_and_trains_only_its_residual():
    teacher = RING.eps_model(SU)
    fake = sid_tools.TeacherInitFake(teacher, hidden=16).double()
    x = torch.randn(
        64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    t = torch.full((64,), 0.3, dtype=torch.float64)
    x.requires_grad_(True)
    out, ref = fake(x, t), teacher(x, t)
    assert torch.equal(out, ref)
    g_fake = torch.autograd.grad(out.sum(), x)[0]
    g_ref = torch.autograd.grad(teacher(x, t).sum(), x)[0]
    assert torch.allclose(
        g_fake, g_ref
    )  # theta's gradient reaches x through the teacher
    names = [n for n, _ in fake.named_parameters()]
    assert names and all(n.startswith("residual.") for n in names)


def test_mode_test_passes_the_mixture_and_fails_a_uniform_ring():
    g = torch.Generator().manual_seed(0)
    x = RING.sample(4000, generator=g)
    res = sid_tools.mode_test(x, RING.means, 0.15)
    assert res["expected"] == pytest.approx(1 - math.exp(-2))
    assert res["passes"]
    ring = sid_tools.uniform_ring(4000, 2.0, 0.15, generator=g)
    bad = sid_tools.mode_test(ring, RING.means, 0.15)
    assert not bad["passes"] and bad["core"] < 0.5


def test_toy_flow_matches_the_closed_form_of_a_linear_field():
    path = sid_tools.toy_flow(
        lambda m, s: (m, 0.0), (2.0, math.log(0.5)), steps=10, lr=0.1
    )
    assert path.shape == (11, 2)
    np.testing.assert_allclose(path[:, 0], 2.0 * 0.9 ** np.arange(11), rtol=1e-14)
    np.testing.assert_allclose(path[:, 1], 0.5)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="teacher"):
        sid_tools.TeacherInitFake(3)
    with pytest.raises(ValueError, match="samples"):
        sid_tools.mode_test(torch.zeros(5, 3), RING.means, 0.15)
    with pytest.raises(ValueError, match="std"):
        sid_tools.mode_test(torch.zeros(5, 2), RING.means, -1.0)
    with pytest.raises(ValueError, match="n"):
        sid_tools.uniform_ring(0, 2.0, 0.1)
    with pytest.raises(TypeError, match="field"):
        sid_tools.toy_flow(None, (0.0, 0.0))
    with pytest.raises(ValueError, match="steps"):
        sid_tools.toy_flow(lambda m, s: (m, s), (0.0, 0.0), steps=0)
