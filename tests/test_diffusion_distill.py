"""Score identity Distillation losses and trainer (sid chapter)."""

import kexue.diffusion as kd
import pytest
import torch
from kexue import data
from kexue.diffusion import distill

SU = kd.VPSchedule.su_quadratic()


def ID(x, t):
    return x


def _gaussian_setup(n=400_000):
    """1-D student N(mu, s^2) with its exact fake denoiser; teacher = exact eps of
    N(m_d, s_d^2)."""
    teacher_data, mu, s = data.GaussianMixture([[0.5]], [0.36]), 0.2, 0.4
    student = data.GaussianMixture([[mu]], [s * s])
    x_g = mu + s * torch.randn(
        n, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    return teacher_data.eps_model(SU), student.eps_model(SU), x_g


def test_l1_equals_l2_and_l3_minus_dim_with_the_exact_fake():
    teacher, fake, x_g = _gaussian_setup()
    vals = {
        f: float(
            distill.sid_generator_loss(
                teacher,
                fake,
                x_g,
                SU,
                form=f,
                generator=torch.Generator().manual_seed(1),
            )
        )
        for f in ("L1", "L2", "L3")
    }
    assert abs(vals["L1"] - vals["L2"]) < 0.02 * vals["L1"] + 1e-3
    assert abs(vals["L3"] - 1.0 - vals["L1"]) < 0.02 * vals["L3"]


def test_generator_loss_reaches_only_the_generator():
    su, ring = SU, data.ring_mixture(8, 2.0, 0.15)
    teacher = ring.eps_model(su)
    g = distill.TeacherInitGenerator(teacher, su).double()
    fake = torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)
    ).double()
    fake_model = lambda x, t: fake(torch.cat([x, t[:, None]], 1))  # noqa: E731
    fake.requires_grad_(False)
    loss = distill.sid_generator_loss(
        teacher, fake_model, g(torch.randn(64, 2, dtype=torch.float64)), su
    )
    loss.backward()
    assert all(p.grad is None for p in fake.parameters())
    assert (
        g.net[-1].weight.grad is not None
        and float(g.net[-1].weight.grad.abs().sum()) > 0
    )


def test_teacher_init_generator_starts_at_the_teacher_estimate():
    ring = data.ring_mixture(8, 2.0, 0.15)
    teacher = ring.eps_model(SU)
    g = distill.TeacherInitGenerator(teacher, SU, t_init=0.5).double()
    z = torch.randn(10, 2, dtype=torch.float64)
    expected = kd.eps_to_x0(
        z, teacher(z, torch.full((10,), 0.5, dtype=torch.float64)), 0.5, SU
    )
    torch.testing.assert_close(g(z), expected)


def test_trainer_runs_and_records_snapshots():
    ring = data.ring_mixture(8, 2.0, 0.15)
    teacher = ring.eps_model(SU)
    g = distill.TeacherInitGenerator(teacher, SU, hidden=16)
    from kexue.nn import TimeMLP

    res = distill.sid_distill(
        teacher,
        g,
        TimeMLP(dim=2, hidden=16, depth=2),
        SU,
        iters=6,
        batch=32,
        fake_pretrain=2,
        snapshot_every=3,
        n_snapshot=10,
        progress=False,
    )
    assert sorted(res["snapshots"]) == [0, 3, 6] and len(res["g_loss"]) == 6
    assert res["snapshots"][6].shape == (10, 2)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: distill.sid_generator_loss(
                ID, ID, torch.zeros(4, 2), SU, form="L4"
            ),
            ValueError,
            "form",
        ),
        (
            lambda: distill.sid_generator_loss(
                ID, ID, torch.zeros(4, 2), kd.DiscreteSchedule.linear()
            ),
            TypeError,
            "NoiseSchedule",
        ),
        (
            lambda: distill.fake_dsm_loss(
                ID, torch.zeros(4, 2), SU, t_range=(0.5, 0.2)
            ),
            ValueError,
            "t_range",
        ),
        (
            lambda: distill.fake_dsm_loss(
                ID, torch.zeros(4, 2), SU, t_range=(0.0, 0.5)
            ),
            ValueError,
            "t_range",
        ),
        (
            lambda: distill.sid_generator_loss(ID, ID, torch.zeros(4, 2), SU, lam=-1.0),
            ValueError,
            "lam",
        ),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
