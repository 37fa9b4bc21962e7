"""kexue.everyday.camouflage against independent oracles: quadrature of the survivor
density, sympy's fixed point, brute-force grids, large-population simulations, and
rivals (a wrong contraction factor) that the same tests reject."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from kexue.everyday import camouflage as C
from scipy import integrate, stats

F64 = torch.float64


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _quad_moments(mu, var, b, s, kappa, f, catch):
    """Survivor fraction, mean and variance by quadrature of surv(c) * N(c; mu, var)."""
    sd = math.sqrt(var)

    def surv(c):
        return (1 - f) * kappa * math.exp(-((c - b) ** 2) / (2 * s * s)) + f * (
            1 - catch
        )

    def dens(c, k):
        return c**k * surv(c) * stats.norm.pdf(c, mu, sd)

    lo, hi = mu - 12 * sd, mu + 12 * sd
    pts = [min(max(b, lo), hi)]
    z = [
        integrate.quad(dens, lo, hi, args=(k,), points=pts, epsabs=0, epsrel=1e-12)[0]
        for k in range(3)
    ]
    m = z[1] / z[0]
    return z[0], m, z[2] / z[0] - m * m


# ---------------------------------------------------------------- survival_prob
def test_survival_prob_closed_form_and_patches():
    c = torch.linspace(-1, 2, 31, dtype=F64)
    got = C.survival_prob(c, 0.4, 0.2, kappa=0.7, moving_fraction=0.3, motion_catch=0.6)
    want = 0.7 * 0.7 * np.exp(-((c.numpy() - 0.4) ** 2) / 0.08) + 0.3 * 0.4
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-14)
    b, w = torch.tensor([0.3, 0.8], dtype=F64), torch.tensor([0.8, 0.2], dtype=F64)
    mix = C.survival_prob(c, b, 0.1, weights=w)
    parts = 0.8 * C.survival_prob(c, 0.3, 0.1) + 0.2 * C.survival_prob(c, 0.8, 0.1)
    assert torch.allclose(mix, parts, rtol=1e-14)
    # equal weights by default; a single patch tensor = the number
    assert torch.allclose(
        C.survival_prob(c, b, 0.1),
        0.5 * C.survival_prob(c, 0.3, 0.1) + 0.5 * C.survival_prob(c, 0.8, 0.1),
    )
    assert torch.allclose(
        C.survival_prob(c, torch.tensor([0.3], dtype=F64), 0.1),
        C.survival_prob(c, 0.3, 0.1),
        rtol=1e-15,
    )
    assert C.survival_prob(c.reshape(31, 1), 0.3, 0.1).shape == (31, 1)


def test_moving_fraction_one_removes_colour():
    c = torch.linspace(-3, 3, 13, dtype=F64)
    p = C.survival_prob(c, 0.0, 0.1, moving_fraction=1.0, motion_catch=0.3)
    assert torch.allclose(p, torch.full_like(p, 0.7))


# ---------------------------------------------------------------- one step, exactly
@pytest.mark.parametrize(
    ("mu", "var", "b", "s", "kappa", "f", "catch"),
    [
        (0.0, 0.04, 0.3, 0.2, 0.5, 0.0, 0.5),
        (0.1, 0.01, 0.8, 0.1, 1.0, 0.0, 0.5),
        (0.3, 0.02, 0.7, 0.25, 0.5, 0.5, 0.5),
        (-0.2, 0.09, 0.5, 0.3, 0.8, 0.9, 0.2),
    ],
)
def test_selection_step_matches_quadrature(mu, var, b, s, kappa, f, catch):
    step = C.gaussian_selection_step(
        mu, var, b, s, kappa=kappa, moving_fraction=f, motion_catch=catch
    )
    z, m, v = _quad_moments(mu, var, b, s, kappa, f, catch)
    assert step.survival == pytest.approx(z, rel=1e-9)
    assert step.mean == pytest.approx(m, rel=1e-9, abs=1e-12)
    assert step.var == pytest.approx(v, rel=1e-8)


def test_selection_step_far_from_background_stays_exact():
    # survival underflows; the mean and variance are still the Gaussian formulas
    step = C.gaussian_selection_step(0.0, 0.01, 100.0, 0.1)
    assert step.survival == 0.0
    assert step.mean == pytest.approx((0.0 * 0.01 + 100.0 * 0.01) / 0.02)
    assert step.var == pytest.approx(0.005)


@given(
    mu=st.floats(-2, 2),
    var=st.floats(1e-3, 1),
    b=st.floats(-2, 2),
    s=st.floats(0.02, 2),
)
def test_gap_contracts_by_the_factor(mu, var, b, s):
    step = C.gaussian_selection_step(mu, var, b, s)
    rho = s * s / (s * s + var)
    assert step.mean - b == pytest.approx(rho * (mu - b), abs=1e-12)
    assert step.var == pytest.approx(var * rho, rel=1e-12)
    assert 0 < step.var < var


def test_no_survivor_is_an_error():
    with pytest.raises(ValueError, match="no survivor"):
        C.gaussian_selection_step(
            0.0, 0.01, 0.0, 0.1, moving_fraction=1.0, motion_catch=1.0
        )


# ---------------------------------------------------------------- the recursion
def test_equilibrium_is_sympys_positive_fixed_point():
    v, s, m = sp.symbols("v s m", positive=True)
    roots = sp.solve(sp.Eq(v, v * s**2 / (v + s**2) + m**2), v)
    # sympy returns both roots of the quadratic; exactly one is positive
    roots = [r for r in roots if float(r.subs({s: 0.2, m: 0.02})) > 0]
    assert len(roots) == 1
    for sv, mv in [(0.2, 0.02), (0.1, 0.05), (1.0, 0.3)]:
        want = float(roots[0].subs({s: sv, m: mv}))
        assert C.equilibrium_variance(sv, mv) == pytest.approx(want, rel=1e-13)
    assert C.equilibrium_variance(0.3, 0.0) == 0.0


def test_recursion_converges_to_equilibrium_and_tracks_background():
    bg = torch.cat(
        [torch.full((150,), 0.3, dtype=F64), torch.full((150,), 0.7, dtype=F64)]
    ).to(F64)
    r = C.gaussian_selection_recursion(0.0, 0.05, bg, 0.2, 0.02)
    vs = C.equilibrium_variance(0.2, 0.02)
    assert float(r.var[-1]) == pytest.approx(vs, rel=1e-10)
    assert float(r.mean[149]) == pytest.approx(0.3, abs=1e-6)
    assert float(r.mean[-1]) == pytest.approx(0.7, abs=1e-6)
    # the gap after the switch decays geometrically with rho = s^2 / (s^2 + var)
    rho = 0.04 / (0.04 + r.var[150:-1])  # var before each selection
    gap = 0.7 - r.mean[150:]
    assert torch.allclose(gap[1:], rho * gap[:-1], rtol=1e-12, atol=1e-14)
    # a rival contraction s / (s + sd) is rejected by the same comparison
    rival = 0.2 / (0.2 + r.var[150:-1].sqrt())
    assert not torch.allclose(gap[1:], rival * gap[:-1], rtol=1e-3)


def test_recursion_with_all_prey_moving_does_not_select():
    bg = torch.full((50,), 1.0, dtype=F64)
    r = C.gaussian_selection_recursion(0.0, 0.01, bg, 0.2, 0.02, moving_fraction=1.0)
    assert torch.all(r.mean == 0.0)
    assert torch.allclose(r.var, 0.01 + 0.0004 * torch.arange(51, dtype=F64))


# ---------------------------------------------------------------- simulation
def test_simulation_is_seeded_and_shaped():
    bg = torch.full((20,), 0.3, dtype=F64)
    a = C.simulate_selection(bg, 0.2, 0.02, n_prey=100, generator=_gen(3))
    b = C.simulate_selection(bg, 0.2, 0.02, n_prey=100, generator=_gen(3))
    assert torch.equal(a.colours, b.colours) and torch.equal(a.survivors, b.survivors)
    assert a.colours.shape == (21, 100) and a.survivors.shape == (20,)
    assert a.extinct_at is None


def test_large_population_follows_the_recursion():
    # N = 1e5: the mean's finite-population error is ~ sd * sqrt((1/N + 1/S) / (1 -
    # rho^2)) < 1e-3 here; tolerance 5e-3 on the mean, 5% on the variance
    bg = torch.cat(
        [torch.full((30,), 0.3, dtype=F64), torch.full((30,), 0.6, dtype=F64)]
    ).to(F64)
    vs = C.equilibrium_variance(0.2, 0.02)
    sim = C.simulate_selection(
        bg, 0.2, 0.02, n_prey=100_000, mean0=0.3, sd0=math.sqrt(vs), generator=_gen(0)
    )
    rec = C.gaussian_selection_recursion(0.3, vs, bg, 0.2, 0.02)
    assert torch.allclose(sim.colours.mean(1), rec.mean, atol=5e-3)
    assert torch.allclose(sim.colours.var(1), rec.var, rtol=0.05)


def test_sharp_predator_and_sudden_switch_cause_extinction():
    bg = torch.cat(
        [torch.full((20,), 0.0, dtype=F64), torch.full((20,), 2.0, dtype=F64)]
    ).to(F64)
    sim = C.simulate_selection(bg, 0.05, 0.01, n_prey=200, sd0=0.05, generator=_gen(1))
    assert sim.extinct_at == 20
    assert sim.colours.shape == (21, 200) and sim.survivors[-1] == 0
    # moving prey survive whatever their colour: no extinction
    sim = C.simulate_selection(
        bg, 0.05, 0.01, n_prey=200, sd0=0.05, moving_fraction=0.5, generator=_gen(1)
    )
    assert sim.extinct_at is None


def test_survivors_are_binomial():
    # one generation, N = 4000 prey from N(0, 0.1^2) on background 0: E[S] = N * step
    bg = torch.zeros(1, dtype=F64)
    sim = C.simulate_selection(bg, 0.2, 0.0, n_prey=4000, sd0=0.1, generator=_gen(5))
    p = C.gaussian_selection_step(0.0, 0.01, 0.0, 0.2).survival
    assert abs(int(sim.survivors[0]) - 4000 * p) < 5 * math.sqrt(4000 * p * (1 - p))


# ---------------------------------------------------------------- helpers
def test_colour_histogram_against_numpy():
    x = torch.randn(5, 300, generator=_gen(0), dtype=F64)
    edges = torch.linspace(-2, 2, 9, dtype=F64)
    got = C.colour_histogram(x, edges)
    for row, h in zip(x.numpy(), got.numpy(), strict=True):
        counts, _ = np.histogram(row[(row >= -2) & (row < 2)], bins=edges.numpy())
        np.testing.assert_allclose(h, counts / 300)


def test_optimal_colour_against_a_fine_grid_and_the_asymptote():
    b, w = torch.tensor([0.3, 0.8], dtype=F64), torch.tensor([0.8, 0.2], dtype=F64)
    for s in (0.1, 0.2, 0.4, 1.0):
        c = np.linspace(-1, 2, 300_001)
        fit = 0.8 * np.exp(-((c - 0.3) ** 2) / (2 * s * s)) + 0.2 * np.exp(
            -((c - 0.8) ** 2) / (2 * s * s)
        )
        assert C.optimal_colour(b, s, weights=w) == pytest.approx(
            c[np.argmax(fit)], abs=2e-5
        )
    # sharp eye: shift from the dominant colour ~ (1-p)/p * d * exp(-d^2 / 2 s^2)
    shift = C.optimal_colour(b, 0.1, weights=w) - 0.3
    assert shift == pytest.approx(0.25 * 0.5 * math.exp(-12.5), rel=1e-3)
    # equal patches far apart: two equal peaks, either is optimal
    two = C.optimal_colour(b, 0.05)
    assert min(abs(two - 0.3), abs(two - 0.8)) < 1e-6


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: C.survival_prob([0.1], 0.3, 0.1), "colour"),
        (lambda: C.survival_prob(torch.zeros(3), 0.3, 0.0), "s"),
        (lambda: C.survival_prob(torch.zeros(3), torch.zeros(2, 2), 0.1), "background"),
        (
            lambda: C.survival_prob(
                torch.zeros(3), torch.zeros(2), 0.1, weights=torch.tensor([0.3, 0.3])
            ),
            "weights",
        ),
        (lambda: C.survival_prob(torch.zeros(3), 0.3, 0.1, kappa=0.0), "kappa"),
        (lambda: C.gaussian_selection_step(0.0, -1.0, 0.3, 0.1), "var"),
        (
            lambda: C.gaussian_selection_recursion(
                0.0, 0.1, torch.zeros(2, 2), 0.1, 0.01
            ),
            "backgrounds",
        ),
        (lambda: C.simulate_selection(torch.zeros(3, 2, 1), 0.1, 0.01), "backgrounds"),
        (lambda: C.simulate_selection(torch.zeros(3), 0.1, 0.01, n_prey=1), "n_prey"),
        (
            lambda: C.simulate_selection(torch.zeros(3), 0.1, 0.01, generator=0),
            "generator",
        ),
        (
            lambda: C.colour_histogram(torch.zeros(2, 3), torch.tensor([1.0, 0.0])),
            "edges",
        ),
        (lambda: C.optimal_colour(0.3, 0.1, n_grid=2), "n_grid"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
