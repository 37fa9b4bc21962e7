"""kexue.everyday.birthday against independent oracles: exact fractions, brute force
over every assignment of days, closed forms, and Monte Carlo within its error."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from kexue.everyday import birthday as B


def _brute(n, N, weights=None):
    """(P(shared), E[pairs]) by enumerating all N**n assignments, exactly."""
    w = [Fraction(1, N)] * N if weights is None else weights
    p = pairs = Fraction(0)
    for days in itertools.product(range(N), repeat=n):
        prob = math.prod(w[d] for d in days)
        counts = [days.count(d) for d in set(days)]
        p += prob * (max(counts) > 1)
        pairs += prob * sum(c * (c - 1) // 2 for c in counts)
    return p, pairs


@pytest.mark.parametrize(("n", "N"), [(1, 3), (2, 3), (3, 3), (4, 3), (3, 5), (4, 5)])
def test_exact_and_pairs_match_brute_force(n, N):
    p, pairs = _brute(n, N)
    assert B.p_shared_exact(n, N) == p
    assert float(B.p_shared(n, N)) == pytest.approx(float(p), abs=1e-14)
    assert float(B.expected_shared_pairs(n, N)) == pytest.approx(float(pairs))


def test_weighted_matches_brute_force_and_uniform():
    w = [Fraction(1, 10), Fraction(2, 10), Fraction(3, 10), Fraction(4, 10)]
    for n in (1, 2, 3, 4, 5):
        p, _ = _brute(n, 4, w)
        got = B.p_shared_weighted(n, np.array([float(x) for x in w]))
        assert float(got) == pytest.approx(float(p), abs=1e-14)
    n = np.arange(1, 80)
    uniform = B.p_shared_weighted(n, np.full(365, 1 / 365))
    np.testing.assert_allclose(uniform, B.p_shared(n), rtol=0, atol=1e-13)


def test_known_values_and_shape():
    got = B.p_shared(np.array([[10, 23], [50, 366]]))
    assert got.shape == (2, 2) and got[1, 1] == 1.0
    np.testing.assert_allclose(got[0], [0.116948177711, 0.507297234324], atol=1e-11)
    assert float(B.p_shared_exact(23)) == pytest.approx(0.5072972343, abs=1e-10)
    assert B.p_shared_exact(366) == 1 and B.p_shared_exact(365) < 1


def test_lower_bound_holds_everywhere():
    for N in (2, 10, 365, 1000):
        n = np.arange(1, N + 2)
        assert (B.p_shared(n, N) >= B.p_shared_approx(n, N) - 1e-15).all()


def test_n_for_probability_against_exact_search():
    for N in (1, 2, 7, 365, 366):
        for p in (0.0, 0.01, 0.25, 0.5, 0.9, 0.999, 1.0):
            n = 1
            while B.p_shared_exact(n, N) < Fraction(p):
                n += 1
            assert B.n_for_probability(p, N) == n, (p, N)
    assert B.n_for_probability(0.5) == 23
    assert B.n_for_probability(1.0, 366) == 367


def test_simulation_within_error_and_seeded():
    g = torch.Generator().manual_seed(0)
    s = B.simulate_shared(23, trials=100_000, generator=g)
    assert abs(s.p_shared - float(B.p_shared(23))) < 4 * s.se
    assert abs(s.mean_pairs - float(B.expected_shared_pairs(23))) < 4 * s.se_pairs
    again = B.simulate_shared(
        23, trials=100_000, generator=torch.Generator().manual_seed(0)
    )
    assert again == s


def test_weighted_simulation_within_error():
    w = B.seasonal_weights(0.5)
    s = B.simulate_shared(
        30, 366, trials=50_000, generator=torch.Generator().manual_seed(1), weights=w
    )
    assert abs(s.p_shared - float(B.p_shared_weighted(30, w))) < 4 * s.se
    pairs = 30 * 29 / 2 * float((w**2).sum())
    assert abs(s.mean_pairs - pairs) < 4 * s.se_pairs


def test_uniform_minimises_the_match_probability():
    rng = np.random.default_rng(0)
    n = np.arange(2, 60)
    base = B.p_shared(n, 50)
    for _ in range(20):
        w = rng.dirichlet(np.full(50, 5.0))
        assert (B.p_shared_weighted(n, w) >= base - 1e-12).all()


def test_seasonal_weights():
    w = B.seasonal_weights(0.1, peak_day=250)
    assert w.shape == (366,) and w.sum() == pytest.approx(1.0)
    assert w[59] == pytest.approx(0.25 * w.mean() * 366 / 365.25, rel=1e-12)
    assert B.seasonal_weights(0.0, leap_day=False) == pytest.approx(
        np.full(365, 1 / 365)
    )


def test_socks_and_fingers():
    for c in range(1, 5):
        k = B.socks_for_pair(c)
        draws = itertools.product(range(c), repeat=k)
        assert all(len(set(d)) < k for d in draws)  # k socks: always a pair
        assert len(set(range(c))) == k - 1  # k - 1 socks, all different: no pair
    for k in range(1, 11):
        left, right = B.nine_times_fingers(k)
        assert 10 * left + right == 9 * k and left + right == 9


@pytest.mark.parametrize(
    ("fn", "kwargs", "err"),
    [
        (B.p_shared, dict(n=0), ValueError),
        (B.p_shared, dict(n=2.5), TypeError),
        (B.p_shared, dict(n=[]), ValueError),
        (B.p_shared, dict(n=True), TypeError),
        (B.p_shared, dict(n=5, N=0), ValueError),
        (B.p_shared_approx, dict(n=5, kind="cube"), ValueError),
        (B.n_for_probability, dict(p=1.5), ValueError),
        (B.p_shared_weighted, dict(n=3, weights=[0.5, 0.6]), ValueError),
        (B.p_shared_weighted, dict(n=3, weights=[[0.5, 0.5]]), ValueError),
        (B.simulate_shared, dict(n=3, N=3, weights=[0.5, 0.5]), ValueError),
        (B.simulate_shared, dict(n=3, generator=0), TypeError),
        (B.nine_times_fingers, dict(k=11), ValueError),
        (B.socks_for_pair, dict(colours=0), ValueError),
        (B.seasonal_weights, dict(amplitude=1.0), ValueError),
    ],
)
def test_bad_input(fn, kwargs, err):
    with pytest.raises(err):
        fn(**kwargs)
