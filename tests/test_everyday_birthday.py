"""kexue.everyday.birthday against independent oracles (chapter appendix/birthday):
exact integers and fractions, brute-force enumeration, scipy, closed forms and Monte
Carlo within 4 standard errors; bad input raises naming the argument."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from kexue.everyday import birthday as B


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _brute_no_shared(n, weights):
    """P(all n days distinct) by enumerating every tuple of days (exact fractions)."""
    total = Fraction(0)
    for days in itertools.product(range(len(weights)), repeat=n):
        if len(set(days)) == n:
            total += math.prod(weights[d] for d in days)
    return total


# ----------------------------------------------------------------------------- exact
@pytest.mark.parametrize("N", [1, 2, 7, 365, 366])
def test_exact_matches_math_perm(N):
    for n in [1, 2, 3, 10, 23, N, N + 1, N + 5]:
        want = 1 - Fraction(math.perm(N, n), N**n) if n <= N else Fraction(1)
        assert B.p_shared_exact(n, N) == want


def test_exact_by_brute_force_enumeration():
    for N, n in [(4, 2), (4, 3), (5, 4), (3, 4)]:
        w = [Fraction(1, N)] * N
        assert B.p_shared_exact(n, N) == 1 - _brute_no_shared(n, w)


def test_float_matches_exact_to_float64_roundoff():
    n = np.arange(1, 120)
    got = B.p_shared(n)
    want = np.array([float(B.p_shared_exact(int(k))) for k in n])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert got.shape == n.shape and B.p_shared(23).shape == ()


def test_known_values_and_pigeonhole():
    assert round(float(B.p_shared(23)), 4) == 0.5073
    assert round(float(B.p_shared(50)), 4) == 0.9704
    assert round(float(B.p_shared(10)), 4) == 0.1169
    assert B.p_shared(366) == 1.0 and B.p_shared(366, complement=True) == 0.0
    none365 = B.p_shared(365, complement=True)  # 365! / 365^365
    want = math.exp(math.lgamma(366) - 365 * math.log(365))
    assert 0 < none365 == pytest.approx(want, rel=1e-10)
    assert B.p_shared_exact(365) < 1 and B.p_shared_exact(366) == 1
    assert B.p_shared(1) == 0.0


def test_p_shared_increases_in_n_and_decreases_in_N():
    p = B.p_shared(np.arange(1, 367))
    assert np.all(np.diff(p) >= 0)
    assert B.p_shared(23, 366) < B.p_shared(23, 365) < B.p_shared(23, 364)


# --------------------------------------------------------------------- approximations
def test_pairs_approximation_is_a_lower_bound():
    for N in [5, 365, 2**16]:
        n = np.arange(1, min(N, 400) + 1)
        assert np.all(B.p_shared_approx(n, N) <= B.p_shared(n, N) + 1e-15)


def test_approximation_closed_forms():
    n = np.array([10, 23, 50])
    np.testing.assert_allclose(
        B.p_shared_approx(n, kind="pairs"), 1 - np.exp(-n * (n - 1) / 730), rtol=1e-14
    )
    np.testing.assert_allclose(
        B.p_shared_approx(n, kind="square"), 1 - np.exp(-(n**2) / 730), rtol=1e-14
    )


# ----------------------------------------------------------------------- thresholds
def test_n_for_probability_by_linear_search():
    for N in [1, 2, 10, 365, 366, 1000]:
        p_all = [float(B.p_shared_exact(n, N)) for n in range(1, N + 2)]
        for p in [0.01, 0.1, 0.5, 0.9, 0.99]:
            want = 1 + next(k for k, v in enumerate(p_all) if v >= p)
            assert B.n_for_probability(p, N) == want, (p, N)
    assert B.n_for_probability(0.5) == 23 and B.n_for_probability(0.5, 2**16) == 302
    assert B.n_for_probability(1.0) == 366 and B.n_for_probability(1.0, 366) == 367
    assert B.n_for_probability(0.0) == 1


def test_expected_pairs_by_enumeration():
    N, n = 5, 4
    total = Fraction(0)
    for days in itertools.product(range(N), repeat=n):
        total += sum(a == b for a, b in itertools.combinations(days, 2))
    assert Fraction(total, N**n) == Fraction(math.comb(n, 2), N)
    assert B.expected_shared_pairs(n, N) == pytest.approx(math.comb(n, 2) / N)


# --------------------------------------------------------------------------- weighted
def test_weighted_uniform_equals_uniform():
    for N in [7, 365]:
        n = np.arange(1, N + 3)
        np.testing.assert_allclose(
            B.p_shared_weighted(n, np.full(N, 1 / N)), B.p_shared(n, N), atol=1e-13
        )


def test_weighted_by_brute_force():
    w = [Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 8)]
    for n in [1, 2, 3, 4, 5]:
        want = float(1 - _brute_no_shared(n, w))
        got = float(B.p_shared_weighted(n, [float(x) for x in w]))
        assert got == pytest.approx(want, abs=1e-15)


@given(
    st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12),
    st.integers(min_value=2, max_value=6),
)
def test_uniform_minimises_the_match_probability(raw, n):
    # a symmetric, Schur-concave e_n: uniform days give the fewest matches (Munford)
    w = np.array(raw) / sum(raw)
    D = len(w)
    assert B.p_shared_weighted(n, w) >= B.p_shared(n, D) - 1e-12


def test_seasonal_weights_shape_and_leap_day():
    w = B.seasonal_weights()
    assert w.shape == (366,) and w.sum() == pytest.approx(1.0)
    assert w[59] == pytest.approx(0.25 * np.delete(w, 59).mean())
    w0 = B.seasonal_weights(amplitude=0.0, leap_day=False)
    np.testing.assert_allclose(w0, np.full(365, 1 / 365))
    assert B.p_shared_weighted(366, w, complement=True) > 0
    assert B.p_shared_weighted(367, w) == 1.0
    # 366 people all distinct: one of them on 29 February, n! prod w
    logw = np.log(w).sum() + math.lgamma(367)
    got = B.p_shared_weighted(366, w, complement=True)
    assert got == pytest.approx(math.exp(logw), rel=1e-9)


# ------------------------------------------------------------------------ simulation
def test_simulation_within_four_standard_errors():
    T = 40_000
    for n, N in [(23, 365), (50, 365), (5, 10)]:
        s = B.simulate_shared(n, N, trials=T, generator=_gen(n))
        p = float(B.p_shared(n, N))
        assert abs(s.p_shared - p) < 4 * math.sqrt(p * (1 - p) / T)
        assert abs(s.mean_pairs - B.expected_shared_pairs(n, N)) < 4 * s.se_pairs


def test_simulation_with_weights():
    w = np.array([0.5, 0.3, 0.1, 0.1])
    T = 40_000
    s = B.simulate_shared(3, 4, trials=T, generator=_gen(3), weights=w)
    p = float(B.p_shared_weighted(3, w))
    assert abs(s.p_shared - p) < 4 * math.sqrt(p * (1 - p) / T)
    pairs = 3 * float((w**2).sum())  # C(3,2) sum w^2
    assert abs(s.mean_pairs - pairs) < 4 * s.se_pairs


def test_simulation_is_seeded():
    a = B.simulate_shared(23, trials=1000, generator=_gen(5))
    b = B.simulate_shared(23, trials=1000, generator=_gen(5))
    assert a == b


def test_first_repeat_exact_and_simulated():
    # N = 2: T = 2 with prob 1/2, else 3; N = 1: T = 2 always
    assert B.expected_first_repeat(1) == pytest.approx(2.0)
    assert B.expected_first_repeat(2) == pytest.approx(2.5)
    N = 4  # oracle: sum_k P(no shared among k), exact fractions
    want = sum(1 - B.p_shared_exact(k, N) for k in range(1, N + 1)) + 1
    assert B.expected_first_repeat(N) == pytest.approx(float(want), rel=1e-13)
    t = B.simulate_first_repeat(365, 20_000, generator=_gen(7))
    assert t.min() >= 2 and t.max() <= 366
    assert abs(t.mean() - B.expected_first_repeat(365)) < 4 * t.std() / math.sqrt(
        t.size
    )
    t2 = B.simulate_first_repeat(2, 20_000, generator=_gen(8))
    assert set(np.unique(t2)) <= {2, 3}


def test_parties_are_geometric():
    r = B.simulate_parties(10, 365, repeats=20_000, generator=_gen(9))
    q = 1 - float(B.p_shared(10))
    assert r.min() >= 1
    assert abs(r.mean() - 1 / q) < 4 * math.sqrt(1 - q) / q / math.sqrt(r.size)
    assert abs((r == 1).mean() - q) < 4 * math.sqrt(q * (1 - q) / r.size)


def test_sample_days_range_and_weights():
    d = B.sample_days(50, 7, trials=4000, generator=_gen(11))
    assert d.shape == (4000, 50) and d.min() >= 0 and d.max() <= 6
    w = np.array([0.0, 0.7, 0.3])
    d = B.sample_days(10, 3, trials=2000, generator=_gen(12), weights=w)
    freq = np.bincount(d.ravel(), minlength=3) / d.size
    assert freq[0] == 0 and abs(freq[1] - 0.7) < 4 * math.sqrt(0.21 / d.size)


def test_calendar_counts():
    grid = B.calendar_counts(np.arange(365))
    assert (grid >= 0).sum() == 365 and grid[1, 28] == -1 and grid[11, 30] == 1
    assert grid[3, 30] == -1  # 31 April
    leap = B.calendar_counts(np.array([59, 59, 365]), leap_day=True)
    assert leap[1, 28] == 2 and leap[11, 30] == 1 and (leap >= 0).sum() == 366
    assert B.calendar_counts(np.array([59]))[2, 0] == 1  # 1 March without leap day


# ------------------------------------------------------------------- socks, fingers
def test_socks_pigeonhole_by_enumeration():
    for c in range(1, 6):
        m = B.socks_for_pair(c)
        # every sequence of m colours has a repeat; some sequence of m - 1 has none
        assert all(len(set(s)) < m for s in itertools.product(range(c), repeat=m))
        assert any(
            len(set(s)) == m - 1 for s in itertools.product(range(c), repeat=m - 1)
        )


def test_nine_times_fingers():
    for k in range(1, 11):
        tens, units = B.nine_times_fingers(k)
        assert 10 * tens + units == 9 * k and tens + units + 1 == 10


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: B.p_shared(0), "n"),
        (lambda: B.p_shared(2.5), "n"),
        (lambda: B.p_shared([3, True]), "n"),
        (lambda: B.p_shared(True), "n"),
        (lambda: B.p_shared(3, 0), "N"),
        (lambda: B.p_shared_approx(3, kind="cubic"), "kind"),
        (lambda: B.n_for_probability(1.5), "p"),
        (lambda: B.n_for_probability(math.nan), "p"),
        (lambda: B.p_shared_weighted(3, [0.5, 0.6]), "weights"),
        (lambda: B.p_shared_weighted(3, [[0.5, 0.5]]), "weights"),
        (lambda: B.p_shared_weighted(3, [math.nan, 1.0]), "weights"),
        (lambda: B.simulate_shared(3, trials=1), "trials"),
        (lambda: B.simulate_shared(3, generator=0), "generator"),
        (lambda: B.simulate_shared(3, 4, weights=[0.5, 0.5]), "weights"),
        (lambda: B.simulate_parties(400, 365), "n"),
        (lambda: B.socks_for_pair(0), "colours"),
        (lambda: B.nine_times_fingers(11), "k"),
        (lambda: B.seasonal_weights(amplitude=1.0), "amplitude"),
        (lambda: B.seasonal_weights(leap_day=1), "leap_day"),
        (lambda: B.expected_first_repeat(0), "N"),
        (lambda: B.calendar_counts(np.array([365])), "days"),
        (lambda: B.calendar_counts(np.array([1.5])), "days"),
        (lambda: B.sample_days(3, trials=0), "trials"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises((TypeError, ValueError), match=rf"\b{arg}\b"):
        call()
