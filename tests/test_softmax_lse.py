"""kexue.softmax.lse: logsumexp and its bounds against torch, scipy and mpmath, the
eight inequalities as hypothesis properties, and rivals that the same checks reject."""

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import assume, find, given
from hypothesis import strategies as st
from kexue.softmax import lse as L
from scipy import special, stats

F64 = torch.float64
EPS = torch.finfo(F64).eps


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------- against the peers
@pytest.mark.parametrize("tau", [0.05, 1.0, 7.0])
def test_smooth_max_matches_torch_and_scipy(tau):
    x = 4 * torch.randn(6, 9, generator=_gen(0), dtype=F64)
    ours = L.smooth_max(x, tau=tau)
    assert torch.allclose(ours, tau * torch.logsumexp(x / tau, -1), rtol=1e-14)
    ref = tau * special.logsumexp(x.numpy() / tau, axis=-1)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-13)
    # dim: the same numbers along another axis
    assert torch.allclose(L.smooth_max(x.T, tau=tau, dim=0), ours, rtol=1e-14)
    assert torch.allclose(L.lse_bounds(x, tau=tau).lse, ours, rtol=1e-14)


def test_masked_entries_are_not_counted():
    x = torch.tensor([[1.0, -2.0, 0.5, -math.inf, -math.inf]], dtype=F64)
    b, short = L.lse_bounds(x), L.lse_bounds(x[:, :3])
    for got, want in zip(b, short, strict=True):
        assert torch.allclose(got, want, rtol=1e-15)
    assert float(b.n) == 3.0 and float(b.mean_plus_log_n) == pytest.approx(
        (1 - 2 + 0.5) / 3 + math.log(3)
    )
    assert float(b.lse) == pytest.approx(special.logsumexp([1.0, -2.0, 0.5]))
    # zero weight on a masked entry adds nothing; weight on it makes the bound -inf
    p = torch.tensor([[0.5, 0.25, 0.25, 0.0, 0.0]], dtype=F64)
    lo = L.lse_weighted_lower_bound(x, p, t=2.0)
    assert torch.allclose(lo, L.lse_weighted_lower_bound(x[:, :3], p[:, :3], t=2.0))
    p_bad = torch.tensor([[0.5, 0.25, 0.0, 0.25, 0.0]], dtype=F64)
    assert float(L.lse_weighted_lower_bound(x, p_bad, t=2.0)) == -math.inf
    with pytest.raises(ValueError, match="every entry masked"):
        L.smooth_max(torch.full((2, 3), -math.inf))


def test_stable_at_logits_of_1e4():
    x = torch.tensor([1e4, -1e4, 1e4 - 1.0], dtype=F64)
    assert torch.isinf(torch.log(torch.exp(x).sum()))  # the naive formula overflows
    want = 1e4 + math.log1p(math.exp(-1.0))
    assert float(L.smooth_max(x)) == pytest.approx(want, rel=1e-15)
    b = L.lse_bounds(x)
    assert float(b.max) < float(b.lse) <= float(b.max_plus_log_n)
    # Gibbs bound at p = softmax(x): p has an exact 0 (e^-2e4), 0 * x and 0 log 0 = 0
    p = torch.softmax(x, -1)
    assert float(p[1]) == 0.0
    assert float(L.lse_weighted_lower_bound(x, p, t=1.0)) == pytest.approx(
        want, rel=1e-15
    )
    y = -x
    assert float(L.lipschitz_ratio(x, y)) <= 1.0
    assert torch.isfinite(L.convexity_gap(x, y, 0.3))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("tau", [0.01, 1.0])
def test_half_precision_against_a_float64_reference(dtype, tau):
    x = (1e4 + 3 * torch.randn(64, 12, generator=_gen(1), dtype=F64)).to(dtype)
    x[:, 0] = -1e4
    ours = L.smooth_max(x, tau=tau)
    assert ours.dtype == dtype
    ref = L.smooth_max(x.to(F64), tau=tau)  # the same (rounded) inputs, in float64
    # one rounding of the result to the half format: |err| <= eps(dtype)/2 * |ref|
    err = (ours.to(F64) - ref).abs()
    assert bool((err <= torch.finfo(dtype).eps / 2 * ref.abs()).all())
    if tau == 0.01 and dtype == torch.float16:  # naive float16 overflows in x / tau
        assert bool(torch.isinf(torch.logsumexp(x / tau, -1)).all())
    b = L.lse_bounds(x, tau=tau)
    assert all(v.dtype == dtype for v in b)


def test_gradient_is_softmax_and_hessian_is_diag_p_minus_ppT():
    x = torch.randn(5, generator=_gen(2), dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(L.smooth_max(x), x)
    p = torch.softmax(x.detach(), -1)
    assert torch.allclose(g, p, atol=1e-15)
    h = torch.autograd.functional.hessian(lambda z: L.smooth_max(z), x.detach())
    assert torch.allclose(h, torch.diag(p) - torch.outer(p, p), atol=1e-15)
    (g_torch,) = torch.autograd.grad(torch.logsumexp(x, 0), x)
    assert torch.allclose(g, g_torch, atol=1e-15)


def test_path_derivatives_against_autograd():
    x, y = torch.randn(2, 3, 6, generator=_gen(3), dtype=F64)
    s = torch.tensor([0.1, 0.5, 0.9], dtype=F64, requires_grad=True)
    f = torch.logsumexp(s[:, None] * x + (1 - s[:, None]) * y, -1)
    (d1,) = torch.autograd.grad(f.sum(), s, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), s)
    f0, f1, f2 = L.path_derivatives(x, y, s.detach())
    assert torch.allclose(f0, f.detach(), atol=1e-14)
    assert torch.allclose(f1, d1.detach(), atol=1e-14)
    assert torch.allclose(f2, d2, atol=1e-14)
    # a number s and a batch s agree; masked entries are skipped
    assert torch.allclose(L.path_derivatives(x, y, 0.5)[1][1], f1[1])
    xm = torch.cat([x, torch.full((3, 2), -math.inf, dtype=F64)], -1)
    ym = torch.cat([y, torch.full((3, 2), -math.inf, dtype=F64)], -1)
    for a, b in zip(L.path_derivatives(xm, ym, s.detach()), (f0, f1, f2), strict=True):
        assert torch.allclose(a, b, atol=1e-14)


# --------------------------------------------------------------------- Renyi entropies
def test_renyi_entropy_special_orders_and_zero_entries():
    p = torch.tensor([0.5, 0.3, 0.2, 0.0], dtype=F64)
    pn = p.numpy()
    assert float(L.renyi_entropy(p, 1.0)) == pytest.approx(stats.entropy(pn), 1e-15)
    assert float(L.renyi_entropy(p, 2.0)) == pytest.approx(-math.log((pn**2).sum()))
    assert float(L.renyi_entropy(p, 0.0)) == pytest.approx(math.log(3))
    assert float(L.renyi_entropy(p, math.inf)) == pytest.approx(-math.log(0.5))
    assert float(L.renyi_entropy(p, 0.5)) == pytest.approx(
        2 * math.log(np.sqrt(pn).sum())
    )
    # the zero entry changes nothing (0 log 0 = 0, 0^t = 0)
    for t in (0.0, 0.5, 1.0, 1 + 1e-5, 3.0, math.inf):
        assert torch.allclose(L.renyi_entropy(p, t), L.renyi_entropy(p[:3], t))
    # a point mass has entropy 0 at every order
    one = torch.tensor([0.0, 1.0, 0.0], dtype=F64)
    for t in (0.5, 1.0, 2.0, math.inf):
        assert float(L.renyi_entropy(one, t)) == 0.0
    # tensor orders, one per row
    rows = torch.stack([p, p])
    two = L.renyi_entropy(rows, torch.tensor([1.0, 2.0], dtype=F64))
    assert torch.allclose(
        two, torch.stack([L.renyi_entropy(p, 1.0), L.renyi_entropy(p, 2.0)])
    )


@pytest.mark.parametrize("e", [-0.6, -0.3, -3e-4, -1e-9, 1e-12, 1e-6, 3e-4, 0.49, 0.7])
def test_renyi_entropy_near_one_against_mpmath(e):
    p = torch.tensor([0.6, 0.25, 0.1, 0.05], dtype=F64)
    with mpmath.workdps(50):
        t = 1 + mpmath.mpf(e)
        # the float64 p sums to 1 only to ~1e-17: normalise it exactly, else the
        # reference carries an artefact (sum p - 1)/(1 - t) of 1e-8 at t = 1 - 1e-9
        q = [mpmath.mpf(float(v)) for v in p]
        ref = mpmath.log(sum((v / sum(q)) ** t for v in q)) / (1 - t)
    # float64 round-off of an O(1) result: a few eps (no 1/|t-1| cancellation)
    assert float(L.renyi_entropy(p, 1 + e)) == pytest.approx(float(ref), rel=8 * EPS)
    # continuity through t = 1 (the catalogue's requirement)
    if abs(e) <= 1e-6:
        assert abs(float(L.renyi_entropy(p, 1 + e) - L.renyi_entropy(p, 1.0))) < 1e-5


def test_weighted_bound_refuses_t_below_one():
    x, p = torch.zeros(3, dtype=F64), torch.full((3,), 1 / 3, dtype=F64)
    with pytest.raises(ValueError, match="t must"):
        L.lse_weighted_lower_bound(x, p, t=0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        L.lse_weighted_lower_bound(x, 2 * p)


# --------------------------------------------------------- equality cases of the bounds
def test_equality_cases():
    x = torch.randn(4, 7, generator=_gen(4), dtype=F64)
    c = torch.full((4, 7), 2.5, dtype=F64)
    b = L.lse_bounds(c)  # equal entries: upper and mean bounds are equalities
    assert torch.allclose(b.lse, b.max_plus_log_n) and torch.allclose(
        b.lse, b.mean_plus_log_n
    )
    gibbs = L.lse_weighted_lower_bound(x, torch.softmax(x, -1), t=1.0)
    assert torch.allclose(gibbs, L.smooth_max(x), atol=1e-14)
    # Lipschitz: equality when x - y is a constant vector
    assert torch.allclose(L.lipschitz_ratio(x, x + 0.7), torch.ones(4, dtype=F64))
    assert torch.allclose(
        L.convexity_gap(x, x + 0.7, 0.4), torch.zeros(4, dtype=F64), atol=1e-14
    )
    # uniform p: every Renyi order gives the mean bound (H_t(uniform) = log n)
    u = torch.full((4, 7), 1 / 7, dtype=F64)
    for t in (1.0, 2.0, 5.0):
        assert torch.allclose(
            L.lse_weighted_lower_bound(x, u, t=t), L.lse_bounds(x).mean_plus_log_n
        )


# ----------------------------------------------------------- hypothesis: the 8 bounds
finite = st.floats(-60, 60, allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=1, max_size=8)
weights = st.lists(st.floats(0, 1), min_size=1, max_size=8)


def _tol(*vs):
    """float64 round-off of a slack: a few eps times the size of what is compared."""
    return 16 * EPS * (1 + max(float(v.abs().max()) for v in vs) + math.log(8))


def _masked(xs, n_masked):
    return torch.tensor(xs + [-math.inf] * n_masked, dtype=F64)


@given(vectors, st.integers(0, 3), st.floats(0.01, 100))
def test_property_max_temperature_and_mean_bounds(xs, n_masked, tau):
    x = _masked(xs, n_masked)
    b = L.lse_bounds(x, tau=tau)
    tol = _tol(torch.tensor(xs)) * max(1, tau)
    assert float(b.n) == len(xs)
    assert float(b.max) <= float(b.lse) + tol  # (lse-max), (lse-temp)
    assert float(b.lse) <= float(b.max_plus_log_n) + tol
    assert float(b.mean_plus_log_n) <= float(b.lse) + tol  # (lse-mean)
    gap = max(xs) - sorted(xs)[-2] if len(xs) > 1 else math.inf
    if gap / tau < 30:  # strict left inequality, where float64 can see it
        assert float(b.max) < float(b.lse)


@given(vectors, weights, st.floats(1, 20) | st.just(math.inf))
def test_property_weighted_renyi_bounds(xs, ws, t):
    n = min(len(xs), len(ws))
    assume(sum(ws[:n]) > 1e-3)
    x = torch.tensor(xs[:n], dtype=F64)
    w = torch.tensor(ws[:n], dtype=F64)
    p = w / w.sum()
    lse = float(L.smooth_max(x))
    tol = _tol(x)
    for order in (t, 2.0, 1.0):  # (lse-renyi), (lse-cs), (lse-gibbs)
        assert float(L.lse_weighted_lower_bound(x, p, t=order)) <= lse + tol
    # the family is monotone: H_t decreases in t, so t = 1 is the best bound
    assert float(L.renyi_entropy(p, t)) <= float(L.renyi_entropy(p, 1.0)) + 1e-12


@given(vectors, st.data())
def test_property_lipschitz_and_convexity(xs, data):
    ys = data.draw(st.lists(finite, min_size=len(xs), max_size=len(xs)))
    s = data.draw(st.floats(0, 1))
    x, y = torch.tensor(xs, dtype=F64), torch.tensor(ys, dtype=F64)
    tol = _tol(x, y)
    # (lse-lip) on the difference: the round-off of |lse(x) - lse(y)| is absolute (a
    # few eps times the size of the entries), so a relative slack on the ratio fails
    # when max|x - y| is tiny (see the next test)
    dist = float((x - y).abs().max())
    assert float(L.lipschitz_ratio(x, y)) * dist <= dist + tol
    assert float(L.convexity_gap(x, y, s)) >= -tol  # (lse-convex)
    assert float(L.path_derivatives(x, y, s)[2]) >= 0.0


def test_lipschitz_round_off_is_absolute():
    """hypothesis found x = (2.289e-8, 2.289e-8), y = 0 for a relative slack ``ratio <=
    1 + 1e-12``: lse(x) - lse(y) = 2.289e-8 up to an absolute round-off of about eps."""
    x, y = torch.full((2,), 2.289e-08, dtype=F64), torch.zeros(2, dtype=F64)
    dlse = float(L.smooth_max(x) - L.smooth_max(y))
    assert abs(dlse - 2.289e-08) <= _tol(x, y)  # within the absolute error model
    ratio = float(L.lipschitz_ratio(x, y))
    assert ratio * 2.289e-08 <= 2.289e-08 + _tol(x, y)


def test_renyi_entropy_renormalises_once():
    """A p accepted with sum 1 + 5e-7 gives the same function on both branches (near
    and far from t = 1), and the same values as the normalised p."""
    q = torch.tensor([0.5, 0.3, 0.2], dtype=F64)
    p = q * (1 + 5e-7)
    t = torch.tensor([0.5 - 1e-9, 0.5 + 1e-9, 1.5 - 1e-9, 1.5 + 1e-9], dtype=F64)
    h = L.renyi_entropy(p.expand(4, 3), t)
    torch.testing.assert_close(
        h, L.renyi_entropy(q.expand(4, 3), t), rtol=0, atol=1e-14
    )
    assert abs(float(h[1] - h[0])) < 1e-8 and abs(float(h[3] - h[2])) < 1e-8


def test_the_same_properties_reject_plausible_rivals():
    """Each property above is a test that can fail: hypothesis finds counterexamples to
    tighter but false versions of the bounds."""

    def vec(xs):
        return torch.tensor(xs, dtype=F64)

    # lse <= max + (log n) / 2: false for nearly equal entries
    bad = find(
        vectors,
        lambda xs: (
            float(L.smooth_max(vec(xs))) > max(xs) + math.log(len(xs)) / 2 + 1e-9
        ),
    )
    assert len(bad) >= 2
    # |lse(x) - lse(y)| <= rms(x - y): false when only the top entry moves
    pairs = st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.lists(finite, min_size=n, max_size=n),
            st.lists(finite, min_size=n, max_size=n),
        )
    )
    find(
        pairs,
        lambda xy: (
            float(L.lipschitz_ratio(vec(xy[0]), vec(xy[1])))
            * float((vec(xy[0]) - vec(xy[1])).abs().max())
            > float((vec(xy[0]) - vec(xy[1])).pow(2).mean().sqrt()) + 1e-9
        ),
    )
    # the weighted bound with t = 1/2 at p = softmax(x)
    find(
        vectors,
        lambda xs: (
            float(
                (torch.softmax(vec(xs), 0) * vec(xs)).sum()
                + L.renyi_entropy(torch.softmax(vec(xs), 0), 0.5)
            )
            > float(L.smooth_max(vec(xs))) + 1e-9
        ),
    )


# ---------------------------------------------------------------------- sweep and cases
def test_random_cases_have_the_stated_laws():
    c = L.random_cases(6000, n_max=6, generator=_gen(5))
    live = torch.isfinite(c.x)
    assert torch.equal(live.sum(-1).double(), c.n) and torch.equal(
        live, torch.isfinite(c.y)
    )
    assert torch.allclose(c.p.sum(-1), torch.ones(6000, dtype=F64))
    assert bool((c.p[~live] == 0).all()) and bool((c.t >= 1).all())
    # Dirichlet(1/2) marginal: p_1 ~ Beta(1/2, (n-1)/2) for the rows with n = 4
    rows = c.n == 4
    ks = stats.kstest(c.p[rows, 0].numpy(), stats.beta(0.5, 1.5).cdf)
    assert ks.pvalue > 1e-3
    # x ~ N(0, 9) on the live entries, t - 1 ~ Exp(1)
    assert stats.kstest(c.x[live].numpy() / 3, "norm").pvalue > 1e-3
    assert stats.kstest(c.t.numpy() - 1, "expon").pvalue > 1e-3


def test_inequality_sweep_bounds_hold_and_rivals_fail():
    sw = L.inequality_sweep(L.random_cases(3000, generator=_gen(6)))
    for name, slack in sw.bounds.items():
        assert bool((slack >= -8 * EPS * sw.scale).all()), name
    assert bool((sw.bounds["lse-max (left, strict)"] > 0).all())
    for name, slack in sw.rivals.items():
        assert int((slack < -1e-6).sum()) >= 10, name  # rejected many times over
    # spot check against scipy
    c = L.random_cases(5, generator=_gen(7))
    sw = L.inequality_sweep(c)
    ref = special.logsumexp(c.x.numpy(), axis=-1)
    x0 = np.where(np.isfinite(c.x.numpy()), c.x.numpy(), -np.inf).max(-1)
    np.testing.assert_allclose(
        sw.bounds["lse-max (right)"].numpy(), x0 + np.log(c.n.numpy()) - ref, atol=1e-12
    )
    with pytest.raises(TypeError, match="cases"):
        L.inequality_sweep((1, 2))
