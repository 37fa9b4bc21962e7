"""The continuous-time DDIM ODE (ddim chapter, eq. ddim-ode-s): our solvers against
torchdiffeq and scipy."""

import math

import kexue.diffusion as kd
import numpy as np
import pytest
import torch
from kexue.diffusion.ode import su_noise, su_signal

M, S0 = torch.tensor([0.7, -1.2], dtype=torch.float64), 0.4


def exact_eps(x, t):
    """Optimal eps for data N(M, S0^2 I) under x_s = a x0 + b eps with a = exp(-5
    s^2)."""
    a, b = su_signal(t[:1]).item(), su_noise(t[:1]).item()
    return b * (x - a * M) / (a * a * S0 * S0 + b * b)


def expected_endpoint(x1):
    """The probability-flow map for Gaussian data: x0 = M + S0 (x1 - a1 M) / sqrt(a1^2
    S0^2 + b1^2)."""
    a1, b1 = math.exp(-5), math.sqrt(1 - math.exp(-10))
    return M + S0 * (x1 - a1 * M) / math.sqrt(a1 * a1 * S0 * S0 + b1 * b1)


@pytest.fixture
def x1():
    return torch.randn(
        64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )


# tolerances 5-10x the measured max errors (review evidence slack.txt: dopri5 3.9e-5,
# heun 1.2e-5, ddim 4.3e-3, euler 8.2e-4)
@pytest.mark.parametrize(
    "method, n_steps, tol",
    [
        ("dopri5", None, 3e-4),
        ("heun", 400, 1e-4),
        ("ddim", 1000, 2e-2),
        ("euler", 2000, 5e-3),
    ],
)
def test_solvers_reach_the_exact_endpoint(x1, method, n_steps, tol):
    x0, info = kd.ode_sample(
        exact_eps, x1, method=method, n_steps=n_steps, rtol=1e-7, atol=1e-7
    )
    assert info["nfe"] > 1
    torch.testing.assert_close(x0, expected_endpoint(x1), atol=tol, rtol=0)


@pytest.mark.parametrize("method, n_steps", [("heun", 4), ("ddim", 4), ("euler", 4)])
def test_too_few_ode_steps_miss_the_endpoint(x1, method, n_steps):
    """The twin: with 4 steps each fixed-step solver misses the exact endpoint by far
    more than the tolerances above (so they can fail)."""
    x0, _ = kd.ode_sample(exact_eps, x1, method=method, n_steps=n_steps)
    assert float((x0 - expected_endpoint(x1)).abs().max()) > 2e-2


def test_fixed_step_against_torchdiffeq_and_scipy(x1):
    from scipy.integrate import solve_ivp
    from torchdiffeq import odeint

    f = kd.su_ode_velocity(exact_eps)
    s_end = 1e-3
    ref_t = odeint(
        f,
        x1,
        torch.tensor([1.0, s_end], dtype=torch.float64),
        rtol=1e-9,
        atol=1e-9,
        method="dopri5",
    )[-1]

    def fun(s, y):
        return (
            f(
                torch.tensor(s, dtype=torch.float64),
                torch.as_tensor(y).reshape(x1.shape),
            )
            .reshape(-1)
            .numpy()
        )  # noqa: E731

    ref_s = solve_ivp(
        fun, (1.0, s_end), x1.reshape(-1).numpy(), method="RK45", rtol=1e-9, atol=1e-9
    ).y[:, -1]
    np.testing.assert_allclose(ref_t.reshape(-1).numpy(), ref_s, atol=1e-6)
    # our fixed-step solvers with many steps land on the same point
    for method, n in [("heun", 2000), ("euler", 20000)]:
        ours = kd.ode_solve(
            lambda s, y: f(torch.tensor(s, dtype=torch.float64), y),
            x1,
            1.0,
            s_end,
            method=method,
            n_steps=n,
        )
        torch.testing.assert_close(
            ours, ref_t, atol=1e-5 if method == "heun" else 1e-3, rtol=0
        )
    ours = kd.ode_solve(
        lambda s, y: f(torch.tensor(s, dtype=torch.float64), y),
        x1,
        1.0,
        s_end,
        method="dopri5",
        rtol=1e-9,
        atol=1e-9,
    )
    # our dopri5 is torchdiffeq's, so the independent reference is scipy's RK45
    ref_s = torch.as_tensor(ref_s).reshape(x1.shape)
    torch.testing.assert_close(ours, ref_s, atol=2e-6, rtol=0)


@pytest.mark.parametrize("method, peer", [("euler", "euler"), ("heun", "heun2")])
def test_the_one_fixed_step_loop_is_torchdiffeqs_method(x1, method, peer):
    """Our teaching Euler/Heun loop (used by ode_solve and pf_ode_sample) takes exactly
    the steps of torchdiffeq's fixed-grid ``euler`` / ``heun2`` on the same grid
    (round-off only)."""
    from torchdiffeq import odeint

    f = kd.su_ode_velocity(exact_eps)
    grid = torch.linspace(1.0, 0.05, 13, dtype=torch.float64)
    ref = odeint(lambda s, y: f(float(s), y), x1, grid, method=peer)[-1]
    ours = kd.ode_solve(f, x1, 1.0, 0.05, method=method, n_steps=12)
    torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        (dict(method="rk4", n_steps=10), ValueError, "method must be one of"),
        (dict(method="euler"), ValueError, "needs n_steps"),
        (dict(method="dopri5", n_steps=10), ValueError, "chooses its own steps"),
        (dict(method="dopri5", rtol=0.0), ValueError, "rtol must be > 0"),
        (dict(method="heun", n_steps=0), ValueError, "n_steps must be >= 1"),
        (dict(method="heun", n_steps=5, s_end=1.5), ValueError, "s_end must be in"),
    ],
)
def test_errors(x1, kw, exc, match):
    with pytest.raises(exc, match=match):
        kd.ode_sample(exact_eps, x1, **kw)


def test_ode_solve_callback_sees_every_fixed_step(x1):
    seen = []
    f = lambda s, y: -y  # noqa: E731
    out = kd.ode_solve(
        f,
        x1,
        0.0,
        1.0,
        method="heun",
        n_steps=8,
        callback=lambda s, y: seen.append((s, y)),
    )
    assert [round(s, 12) for s, _ in seen] == [round(k / 8, 12) for k in range(1, 9)]
    assert torch.equal(seen[-1][1], out)
    with pytest.raises(ValueError, match="callback is for fixed-step"):
        kd.ode_solve(f, x1, 0.0, 1.0, method="dopri5", callback=lambda s, y: None)


def test_euler_sample_corners_are_the_library_euler_and_ddim(x1):
    """euler_sample(state, clock): (x, s) is ode_sample's Euler and (y, tau) its DDIM
    update, to round-off (ddim chapter, section ddim-sec-solvers)."""
    for (state, clock), method in {("x", "s"): "euler", ("y", "tau"): "ddim"}.items():
        ours, info = kd.euler_sample(exact_eps, x1, n_steps=7, state=state, clock=clock)
        lib, lib_info = kd.ode_sample(exact_eps, x1, method=method, n_steps=7)
        torch.testing.assert_close(ours, lib, atol=1e-12, rtol=1e-12)
        assert info["nfe"] == lib_info["nfe"] == 8


@pytest.mark.parametrize("state", ["x", "y"])
def test_euler_sample_tau_and_s_clocks_against_torchdiffeq(x1, state):
    """Each variant is torchdiffeq's Euler for its own (state, clock) ODE on the same
    nodes, and the clock matters: (x, tau) differs from (x, s) beyond round-off."""
    from torchdiffeq import odeint

    s_end, n = 1e-3, 6
    s_nodes = torch.linspace(1.0, s_end, n + 1, dtype=torch.float64)
    tau_nodes = torch.sqrt(torch.expm1(10 * s_nodes**2))

    def s_of(tau):
        return torch.sqrt(torch.log1p(tau**2) / 10)

    def vel_x_s(s, x):
        s = s.reshape(1)
        return 10 * s * (exact_eps(x, s.expand(len(x))) / su_noise(s) - x)

    def vel(c, u):  # d(state)/d(clock) at clock value c
        s = c if clock == "s" else s_of(c)
        a, b = su_signal(s.reshape(1)), su_noise(s.reshape(1))
        dtau = 10 * s / (a * b)
        x = u if state == "x" else a * u
        if state == "x":
            v = vel_x_s(s, x)
            return v if clock == "s" else v / dtau
        e = exact_eps(x, s.reshape(1).expand(len(x)))
        return e * dtau if clock == "s" else e

    outs = {}
    for clock in ("s", "tau"):
        nodes = s_nodes if clock == "s" else tau_nodes
        u0 = x1 if state == "x" else x1 / math.exp(-5)
        u = odeint(vel, u0, nodes, method="euler")[-1]
        x_end = u if state == "x" else u * su_signal(s_nodes[-1:])
        a, b = su_signal(s_nodes[-1:]), su_noise(s_nodes[-1:])
        x0 = (x_end - b * exact_eps(x_end, s_nodes[-1:].expand(len(x1)))) / a
        ours, _ = kd.euler_sample(exact_eps, x1, n_steps=n, state=state, clock=clock)
        torch.testing.assert_close(ours, x0, atol=1e-10, rtol=1e-10)
        outs[clock] = ours
    assert float((outs["s"] - outs["tau"]).abs().max()) > 1e-3


def test_discrete_schedule_beta_and_su_linear_docstring_claim():
    """beta_i = sqrt(1 - (signal[i]/signal[i-1])^2) matches from_betas' input; and
    su_linear(100) ends at exp(-0.005 (T + 1)), not exp(-5) (its docstring)."""
    betas = 0.02 * torch.arange(1, 101, dtype=torch.float64) / 100
    d = kd.DiscreteSchedule.from_betas(betas)
    torch.testing.assert_close(d.beta**2, betas, atol=1e-14, rtol=0)
    end = float(kd.DiscreteSchedule.su_linear(100).signal[-1])
    assert end == pytest.approx(math.exp(-0.005 * 101), rel=0.01)
    assert abs(end - math.exp(-5)) > 0.5
