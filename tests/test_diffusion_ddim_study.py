"""The ddim chapter's demos (kexue.diffusion.ddim_study)."""

import matplotlib

matplotlib.use("Agg")

import kexue.diffusion as kd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from kexue import data, metrics  # noqa: E402
from kexue.diffusion import ddim_study  # noqa: E402


def test_sigma_fractions_closed_forms():
    s = kd.DiscreteSchedule.linear()
    t, f1, fb = ddim_study.sigma_fractions(s, 1.0)
    assert t.tolist() == list(range(2, s.T + 1))
    # eta = 1 is DDPM's posterior std: sigma_t = bbar_{t-1} beta_t / bbar_t
    torch.testing.assert_close(f1, s.beta[t - 1] / s.noise[t])
    torch.testing.assert_close(fb, s.beta[t - 1] / s.noise[t - 1])
    _, f0, _ = ddim_study.sigma_fractions(s, 0.0)
    _, fh, _ = ddim_study.sigma_fractions(s, 0.5)
    assert torch.all(f0 == 0)
    torch.testing.assert_close(fh, 0.5 * f1)
    assert torch.all(f1 <= 1)  # eta <= 1 is always admissible
    assert fb[0] > 1  # sigma = beta is inadmissible at t = 2 on DDPM's schedule


def test_plot_sigma_fractions_marks_inadmissible_steps():
    s = kd.DiscreteSchedule.linear()
    _, _, fb = ddim_study.sigma_fractions(s, 1.0)
    fig = ddim_study.plot_sigma_fractions(s, 1.0, title="linear schedule")
    ax = fig.axes[0]
    crosses = ax.lines[2]
    assert len(crosses.get_xdata()) == int((fb > 1).sum())
    assert ax.get_title() == "linear schedule"
    assert "inadmissible: t = 1, 2" in ax.get_legend().get_texts()[2].get_text()
    plt.close(fig)


def test_plot_samples_matches_the_sampler():
    sched = kd.DiscreteSchedule.linear(T=100)
    ring = data.ring_mixture(4, radius=2.0, std=0.15)
    eps = ring.eps_model(sched)
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    x_ref = ring.sample(60, generator=torch.Generator().manual_seed(1))
    fig = ddim_study.plot_samples(
        eps, z, sched, x_ref, steps=5, eta=1.0, spacing="uniform", title="a", seed=3
    )
    g = torch.Generator().manual_seed(3)
    out = kd.ddim_sample(eps, z, sched, steps=5, eta=1.0, generator=g)
    d = metrics.sliced_wasserstein(out, x_ref)
    assert fig.axes[0].get_title() == f"a\nSW {d:.3f} ()"
    plt.close(fig)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="sched"):
        ddim_study.sigma_fractions("linear", 1.0)
    with pytest.raises(ValueError, match="eta"):
        ddim_study.sigma_fractions(kd.DiscreteSchedule.linear(T=10), -1.0)
