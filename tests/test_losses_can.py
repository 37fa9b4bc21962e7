"""Tests of kexue.losses.can (chapter softmax/can): CAN against the post's loop, POT's
Sinkhorn, scipy's entropy, closed forms and Bayes' rule on a generative model."""

import math

import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kexue.losses import can as lc
from scipy import stats
from scipy.special import softmax


def _dirichlet(n, c, seed, conc=0.5):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(c, conc), size=n)


def _prior(c, seed):
    return np.random.default_rng(seed + 1000).dirichlet(np.full(c, 5.0))


# ---- uncertainty (can-uncertainty), (can-paper-u) ----


def test_topk_uncertainty_matches_scipy_entropy():
    p = _dirichlet(200, 7, 0)
    for k in (2, 3, 5, 7):
        top = np.sort(p, axis=1)[:, ::-1][:, :k]
        ref = stats.entropy(top, axis=1) / math.log(k)  # scipy renormalises itself
        np.testing.assert_allclose(lc.topk_uncertainty(p, k), ref, rtol=1e-12)
        paper = -np.sum(top * np.log(top), axis=1) / math.log(7)
        np.testing.assert_allclose(
            lc.topk_uncertainty(p, k, renormalize=False), paper, rtol=1e-12
        )


def test_post_example_rows():
    rows = np.array([[0.5, 0.25, 0.25], [0.5, 0.5, 0.0]])
    u = lc.topk_uncertainty(rows, 2)
    assert u[0] == pytest.approx(math.log2(3) - 2 / 3, abs=1e-15)
    assert u[1] == pytest.approx(1.0, abs=1e-15)
    # plain entropy ranks them the other way
    assert stats.entropy(rows[0]) > stats.entropy(rows[1])
    # the paper's measure ties them at k = 2
    pap = lc.topk_uncertainty(rows, 2, renormalize=False)
    assert pap[0] == pytest.approx(pap[1], abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    c=st.integers(3, 12),
    conc=st.sampled_from([0.05, 0.5, 3.0]),
)
def test_uncertainty_ranges_and_paper_ceiling(seed, c, conc):
    p = _dirichlet(50, c, seed, conc)
    for k in range(2, c + 1):
        u = lc.topk_uncertainty(p, k)
        assert np.all(u >= -1e-15) and np.all(u <= 1 + 1e-12)
        pap = lc.topk_uncertainty(p, k, renormalize=False)
        ceiling = (math.log(k) if k >= 3 else 2 / math.e) / math.log(c)
        assert np.all(pap <= ceiling + 1e-12)


def test_tied_top_k_has_uncertainty_one():
    p = np.array([[0.3, 0.3, 0.3, 0.1], [0.45, 0.45, 0.05, 0.05]])
    assert lc.topk_uncertainty(p, 3)[0] == pytest.approx(1.0)
    assert lc.topk_uncertainty(p, 2)[1] == pytest.approx(1.0)
    assert lc.topk_uncertainty(p, 3)[1] < 1.0


def test_confident_mask_is_strict_threshold():
    p = np.array([[0.5, 0.5, 0.0], [0.9, 0.05, 0.05]])
    m = lc.confident_mask(p, k=2, tau=1.0)  # U = 1 is not < 1
    assert m.tolist() == [False, True]


# ---- the algorithm ----


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    c=st.integers(2, 8),
    n=st.integers(1, 40),
    tau=st.sampled_from([0.0, 0.3, 0.6, 0.9, 1.0]),
    alpha=st.sampled_from([0.5, 1.0, 1.7]),
    iters=st.integers(1, 4),
    mode=st.sampled_from(["per_sample", "batch"]),
)
def test_vectorised_equals_loop(seed, c, n, tau, alpha, iters, mode):
    p, q = _dirichlet(n, c, seed), _prior(c, seed)
    kw = dict(k=min(3, c), tau=tau, alpha=alpha, iters=iters, mode=mode)
    a, ua = lc.can_correct(p, q, **kw)
    b, ub = lc.can_loop(p, q, **kw)
    assert np.array_equal(ua, ub)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    # rows stay on the simplex; confident rows are untouched
    np.testing.assert_allclose(a.sum(1), 1.0, atol=1e-12)
    assert np.array_equal(a[~ua], p[~ua])


@pytest.mark.parametrize(
    ("alpha", "iters"), [(1.0, 1), (1.0, 2), (0.5, 1), (0.5, 3), (2.0, 2), (1.7, 4)]
)
def test_loop_is_the_posts_code(alpha, iters):
    """The post's reference code, transcribed literally, gives the same rows.

    With alpha != 1 and several rounds this pins the reading that the power is
    applied at the start of EVERY round (the post's loop), not once before the first.
    Both library implementations are compared, since they share the row selection.
    """
    p, q = _dirichlet(60, 6, 3), _prior(6, 3)
    k, tau = 3, 0.8
    top = np.sort(p, axis=1)[:, -k:]
    top /= top.sum(axis=1, keepdims=True)
    unc = -(top * np.log(top)).sum(1) / np.log(k)
    conf, unconf = p[unc < tau], p[unc >= tau]
    rows = []
    for y in unconf:
        Y = np.concatenate([conf, y[None]], axis=0)
        for _ in range(iters):
            Y = Y**alpha
            Y /= Y.mean(axis=0, keepdims=True)
            Y *= q[None]
            Y /= Y.sum(axis=1, keepdims=True)
        rows.append(Y[-1])
    for f in (lc.can_correct, lc.can_loop):
        new, mask = f(p, q, k=k, tau=tau, alpha=alpha, iters=iters)
        assert mask.sum() == len(unconf) > 5  # the same rows, and enough of them
        np.testing.assert_allclose(new[mask], np.array(rows), atol=1e-13)


def test_two_class_closed_forms():
    for eps in (0.01, 0.05, 0.2, 0.4):
        P = np.array([[eps, 1 - eps], [0.5, 0.5]])
        one = lc.can_correct(P, [0.5, 0.5], k=2, tau=0.99)[0][1]
        assert one[0] == pytest.approx((3 - 2 * eps) / 4, abs=1e-14)
        lim = lc.can_correct(P, [0.5, 0.5], k=2, tau=0.99, iters=400)[0][1]
        r = math.sqrt((1 - eps) / eps)
        assert lim[0] == pytest.approx(r / (1 + r), abs=1e-12)


def test_converged_can_is_pot_sinkhorn():
    p, q = _dirichlet(80, 5, 7, conc=1.0), _prior(5, 7)
    # batch on all rows (tau = 0): the Sinkhorn projection of the whole matrix
    full = lc.can_correct(p, q, tau=0.0, mode="batch", iters=500)[0]
    T = ot.sinkhorn(np.full(80, 1 / 80), q, -np.log(p), 1.0, stopThr=1e-14)
    np.testing.assert_allclose(full, 80 * T, atol=1e-9)
    np.testing.assert_allclose(full.mean(0), q, atol=1e-12)
    np.testing.assert_allclose(full.sum(1), 1.0, atol=1e-12)
    # per sample: the last row of the projected stack [confident; row]
    new, unconf = lc.can_correct(p, q, tau=0.7, iters=500)
    conf = ~unconf
    for j in np.flatnonzero(unconf)[:3]:
        stack = np.concatenate([p[conf], p[j][None]])
        m = len(stack)
        T = ot.sinkhorn(np.full(m, 1 / m), q, -np.log(stack), 1.0, stopThr=1e-14)
        np.testing.assert_allclose(new[j], m * T[-1], atol=1e-9)


def test_matrix_already_on_the_prior_is_a_fixed_point():
    p, q = _dirichlet(50, 4, 11, conc=2.0), _prior(4, 11)
    T = ot.sinkhorn(np.full(50, 1 / 50), q, -np.log(p), 1.0, stopThr=1e-15)
    balanced = 50 * T  # rows sum to 1, column means = q
    balanced /= balanced.sum(1, keepdims=True)
    out = lc.can_correct(balanced, q, tau=0.0, mode="batch", iters=3)[0]
    np.testing.assert_allclose(out, balanced, atol=1e-9)


def test_no_confident_rows_gives_the_prior():
    p, q = _dirichlet(10, 4, 5), _prior(4, 5)
    out, unconf = lc.can_correct(p, q, tau=0.0)
    assert unconf.all()
    np.testing.assert_allclose(out, np.tile(q, (10, 1)), atol=1e-15)


def test_no_unconfident_rows_returns_a_copy():
    p, q = _dirichlet(10, 4, 5, conc=0.05), _prior(4, 5)
    out, unconf = lc.can_correct(p, q, tau=1.5)
    assert not unconf.any() and np.array_equal(out, p) and out is not p


def test_extreme_logits_and_exact_zeros_stay_finite():
    rng = np.random.default_rng(0)
    logits = rng.choice([-1e4, 0.0, 1e4], size=(40, 5))
    logits[:10] = rng.normal(size=(10, 5))  # some soft rows to be unconfident
    p = softmax(logits, axis=1)  # many exact 0 and 1 entries
    q = np.full(5, 0.2)
    for kw in (dict(), dict(iters=4), dict(mode="batch", iters=4), dict(alpha=0.5)):
        a = lc.can_correct(p, q, tau=0.5, **kw)[0]
        b = lc.can_loop(p, q, tau=0.5, **kw)[0]
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_batch_falls_back_to_the_log_domain_on_denormal_columns():
    p = _dirichlet(30, 4, 9)
    p[:, 3] = 1e-320  # a class no row gives weight: its scaling factor overflows
    p /= p.sum(1, keepdims=True)
    q = np.full(4, 0.25)
    assert lc._batch_scaling(p, q, 5) is None  # so can_correct takes the log domain
    out = lc.can_correct(p, q, tau=0.0, mode="batch", iters=300)[0]
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(out.mean(0), q, atol=1e-9)  # the prior, class 3 too


def test_one_round_is_bayes_with_the_confident_mean():
    p, q = _dirichlet(3000, 6, 2, conc=0.3), _prior(6, 2)
    new, unconf = lc.can_correct(p, q, tau=0.8)
    conf = ~unconf
    approx = lc.label_shift_correction(p[unconf], p[conf].mean(0), q)
    n = conf.sum()
    delta = np.abs(np.log1p((p[unconf] / p[conf].mean(0) - 1) / (n + 1))).max(1)
    err = np.abs(new[unconf] - approx).max(1)
    assert np.all(err <= 2 * delta + 1e-15)
    assert err.max() < 0.05


# ---- Bayes' rule under label shift (can-bayes) ----


def test_label_shift_correction_matches_a_generative_model():
    """Three 1-D Gaussian classes: the posterior under the new prior, computed from the
    densities, equals the corrected posterior under the old prior."""
    x = np.linspace(-4, 4, 101)
    means, old, new = np.array([-1.0, 0.0, 1.5]), _prior(3, 0), _prior(3, 1)
    lik = stats.norm.pdf(x[:, None], loc=means[None], scale=1.0)  # (101, 3)
    post_old = lik * old / (lik * old).sum(1, keepdims=True)
    post_new = lik * new / (lik * new).sum(1, keepdims=True)
    np.testing.assert_allclose(
        lc.label_shift_correction(post_old, old, new), post_new, rtol=1e-12
    )


# ---- the digits experiment ----


def test_long_tail_counts():
    assert lc.long_tail_counts(10).tolist() == [90, 54, 32, 19, 11, 6, 5, 5, 5, 5]
    assert lc.long_tail_counts(3, head=10, ratio=0.5, floor=1).tolist() == [10, 5, 2]


@pytest.mark.parametrize("scenario", lc.SCENARIOS)
def test_digits_scenario(scenario):
    d = lc.digits_scenario(scenario, seed=1)
    p, y = d["probs"], d["labels"]
    assert p.shape == (len(y), 10) and len(y) > 850
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(d["train_prior"].sum(), 1.0)
    np.testing.assert_allclose(d["test_prior"].sum(), 1.0)
    assert np.all(np.abs(d["test_prior"] - 0.1) < 0.01)  # the test half is balanced
    assert (p.argmax(1) == y).mean() > 0.6
    again = lc.digits_scenario(scenario, seed=1)
    assert np.array_equal(again["probs"], p)  # deterministic per seed
    if scenario == "label_shift":
        keep = lc.long_tail_counts(10)
        counts = np.sort(d["train_prior"] * keep.sum())[::-1]
        np.testing.assert_allclose(counts, keep, atol=1e-9)
    if scenario == "biased":
        base = lc.digits_scenario("balanced", seed=1)
        assert np.allclose(d["oracle"], base["probs"])
        # the offsets rescale columns: p = normalise(oracle * w) for one w
        w = p / d["oracle"]
        np.testing.assert_allclose(w / w[:, :1], np.tile(w[0] / w[0, 0], (len(p), 1)))


def test_digits_scenario_per_class_caps_the_training_set():
    d = lc.digits_scenario("balanced", seed=2, per_class=23)
    np.testing.assert_allclose(d["train_prior"], 0.1)  # 23 of every digit
    full = lc.digits_scenario("balanced", seed=2)
    np.testing.assert_array_equal(d["labels"], full["labels"])  # same test half
    assert not np.allclose(d["probs"], full["probs"])  # a different (smaller) model
    # a cap above every class count changes nothing
    big = lc.digits_scenario("balanced", seed=2, per_class=10_000)
    np.testing.assert_array_equal(big["probs"], full["probs"])
    # the long tail keeps its counts under a cap of 19: 90, 54, 32 -> 19
    d = lc.digits_scenario("label_shift", seed=2, per_class=19)
    counts = np.sort(np.round(d["train_prior"] * (19 * 4 + 11 + 6 + 4 * 5)))[::-1]
    np.testing.assert_array_equal(counts, [19, 19, 19, 19, 11, 6, 5, 5, 5, 5])


def test_scenario_accuracies():
    out = lc.scenario_accuracies(
        "label_shift",
        [0, 1],
        {
            "same": lambda d: d["probs"],
            "can": lambda d: lc.can_correct(d["probs"], d["test_prior"])[0],
        },
    )
    np.testing.assert_array_equal(out["same"], out["model"])
    d = lc.digits_scenario("label_shift", 1)
    assert out["model"][1] == pytest.approx(
        np.mean(d["probs"].argmax(1) == d["labels"])
    )
    assert np.all(out["can"] > out["model"])  # label shift: CAN helps on these seeds
    assert np.all(out["acc_confident"] > out["acc_unconfident"])
    assert out["mismatch"].shape == (2,) and np.all(out["mismatch"] > 0.1)
    conf = lc.confident_mask(d["probs"])
    tv = 0.5 * np.abs(d["probs"][conf].mean(0) - d["test_prior"]).sum()
    assert out["mismatch_confident"][1] == pytest.approx(tv, abs=1e-15)


# ---- errors name the argument ----


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda: lc.can_correct([[0.5, 0.6]], [0.5, 0.5]), "probs"),
        (lambda: lc.can_correct([[0.5, 0.5]], [0.0, 1.0]), "prior"),
        (lambda: lc.can_correct([[0.5, 0.5]], [0.6, 0.6]), "prior"),
        (lambda: lc.can_correct([[0.5, 0.5]], [0.5, 0.5], k=3), "k"),
        (lambda: lc.can_correct([[0.5, 0.5]], [0.5, 0.5], k=2, tau=-1), "tau"),
        (lambda: lc.can_correct([[0.5, 0.5]], [0.5, 0.5], k=2, mode="rows"), "mode"),
        (lambda: lc.topk_uncertainty([[2.0, -1.0]], 2), "probs"),
    ],
)
def test_bad_input_names_the_argument(call, word):
    with pytest.raises((ValueError, TypeError), match=rf"\b{word}\b"):
        call()
