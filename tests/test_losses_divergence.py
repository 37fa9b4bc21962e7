"""Tests of kexue.losses.divergence (chapter softmax/globalpointer-kl).

Oracles: scipy.special.rel_entr and torch.nn.functional.kl_div (the symmetric KL of two
softmax outputs computed the slow way), binary_cross_entropy_with_logits (per-entry
Bernoulli KLs), mpmath at 50 digits (accuracy for nearly equal logits),
sklearn.metrics.f1_score (the experiment's metric). Properties (symmetry, sign, zero
set, shift behaviour) are hypothesis tests, each paired with a rival form that the same
test rejects.
"""

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from kexue.losses import divergence as dv
from scipy.special import rel_entr
from sklearn.metrics import f1_score

F64 = torch.float64


def _logits(n_rows=200, n=7, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = scale * torch.randn(n_rows, n, generator=g, dtype=F64)
    t = scale * torch.randn(n_rows, n, generator=g, dtype=F64)
    return s, t


def _slow_symmetric_kl(s, t):
    """KL(p||q) + KL(q||p) from scipy's rel_entr on p = softmax(s), q = softmax(t)."""
    p, q = torch.softmax(s, -1).numpy(), torch.softmax(t, -1).numpy()
    return (rel_entr(p, q) + rel_entr(q, p)).sum(-1)


# ---------------------------------------------------------------- peers (independent)
def test_symmetric_kl_matches_rel_entr_and_kl_div():
    s, t = _logits()
    p, q = torch.softmax(s, -1), torch.softmax(t, -1)
    ref = _slow_symmetric_kl(s, t)
    # F.kl_div(input=log q, target=p) is KL(p||q): note the argument order
    kd = F.kl_div(q.log(), p, reduction="none").sum(-1)
    kd = kd + F.kl_div(p.log(), q, reduction="none").sum(-1)
    np.testing.assert_allclose(kd.numpy(), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        dv.symmetric_kl(p, q).numpy(), ref, rtol=1e-12, atol=1e-14
    )


def test_symmetric_kl_zero_entries():
    p = torch.tensor([0.5, 0.5, 0.0], dtype=F64)
    q = torch.tensor([0.25, 0.75, 0.0], dtype=F64)
    ref = (rel_entr(p.numpy(), q.numpy()) + rel_entr(q.numpy(), p.numpy())).sum()
    assert float(dv.symmetric_kl(p, q)) == pytest.approx(ref, rel=1e-13)
    r = torch.tensor([0.5, 0.0, 0.5], dtype=F64)
    assert math.isinf(float(dv.symmetric_kl(p, r)))  # support mismatch: +inf, as scipy
    assert math.isinf((rel_entr(p.numpy(), r.numpy())).sum())


@pytest.mark.parametrize("form", ["stable", "inner"])
def test_logit_form_equals_softmax_symmetric_kl(form):
    s, t = _logits(n=11, scale=4.0, seed=1)
    got = dv.symmetric_kl_logits(s, t, form=form)
    np.testing.assert_allclose(got.numpy(), _slow_symmetric_kl(s, t), rtol=1e-11)


def test_logit_form_other_dim():
    s, t = _logits(n_rows=5, n=4)
    a = dv.symmetric_kl_logits(s.T.contiguous(), t.T.contiguous(), dim=0)
    np.testing.assert_allclose(a.numpy(), _slow_symmetric_kl(s, t), rtol=1e-11)


def _bernoulli_kl(s, t):
    """KL(Bern(sigma(s)) || Bern(sigma(t))) as a difference of torch BCE losses."""
    target = torch.sigmoid(s)
    return F.binary_cross_entropy_with_logits(
        t, target, reduction="none"
    ) - F.binary_cross_entropy_with_logits(s, target, reduction="none")


@pytest.mark.parametrize("form", ["stable", "inner"])
def test_binary_form_is_sum_of_two_bernoulli_kls(form):
    s, t = _logits(n=9, scale=5.0, seed=2)
    ref = _bernoulli_kl(s, t) + _bernoulli_kl(t, s)
    got = dv.binary_symmetric_kl_logits(s, t, form=form)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    # ... and per entry it is the softmax form of the two logits [s_i, 0]
    pair = lambda x: torch.stack([x, torch.zeros_like(x)], -1)  # noqa: E731
    two = dv.symmetric_kl_logits(pair(s), pair(t))
    torch.testing.assert_close(got, two, rtol=1e-10, atol=1e-12)


def test_globalpointer_divergence_sums_entries_and_dims():
    g = torch.Generator().manual_seed(3)
    s = 3 * torch.randn(2, 3, 5, 5, generator=g, dtype=F64)
    t = 3 * torch.randn(2, 3, 5, 5, generator=g, dtype=F64)
    per = _bernoulli_kl(s, t) + _bernoulli_kl(t, s)
    got = dv.globalpointer_divergence(s, t, dim=(1, 2, 3))
    torch.testing.assert_close(got, per.sum((1, 2, 3)), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        dv.globalpointer_divergence(s, t), per.sum(-1), rtol=1e-10, atol=1e-12
    )


def test_globalpointer_mask_drops_entries_value_and_gradient():
    g = torch.Generator().manual_seed(4)
    s = torch.randn(3, 6, generator=g, dtype=F64)
    t = torch.randn(3, 6, generator=g, dtype=F64)
    mask = torch.tril(torch.ones(6, 6, dtype=torch.bool))[:3]  # (3, 6)
    s_m = torch.where(mask, s, -math.inf).requires_grad_()  # GlobalPointer-style fill
    t_m = torch.where(mask, t, -1e12).requires_grad_()
    d = dv.globalpointer_divergence(s_m, t_m, mask=mask)
    ref = ((torch.sigmoid(s) - torch.sigmoid(t)) * (s - t) * mask).sum(-1)
    torch.testing.assert_close(d, ref, rtol=1e-12, atol=1e-14)
    d.sum().backward()
    assert torch.isfinite(s_m.grad).all() and torch.isfinite(t_m.grad).all()
    assert (s_m.grad[~mask] == 0).all()
    # a 0/1 float mask, broadcast over the batch, gives the same value
    d2 = dv.globalpointer_divergence(s_m.detach(), t_m.detach(), mask=mask.double())
    torch.testing.assert_close(d2, ref)
    # without the mask the filled entries make it infinite or NaN: the mask is needed
    with pytest.raises(ValueError, match="s must be finite"):
        dv.globalpointer_divergence(s_m.detach(), t_m.detach())


# ------------------------------------------------------------------------- numerics
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, F64])
def test_extreme_logits_are_exact(dtype):
    s = torch.tensor([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]], dtype=dtype)
    t = torch.tensor([[-1e4, 1e4, 0.0], [1e4, -1e4, 1e4]], dtype=dtype)
    s64, t64 = s.double(), t.double()  # the rounded inputs, exactly
    want_sm = [
        float((torch.softmax(a, 0) - torch.softmax(b, 0)) @ (a - b))
        for a, b in zip(s64, t64, strict=True)
    ]
    want_gp = [
        float(((a > 0).double() - (b > 0).double()) @ (a - b))
        for a, b in zip(s64, t64, strict=True)
    ]  # sigmoid is exactly 0/1 at +-1e4 in float64
    got_sm = dv.symmetric_kl_logits(s, t)
    got_gp = dv.globalpointer_divergence(s, t)
    want_dtype = F64 if dtype == F64 else torch.float32
    assert got_sm.dtype == want_dtype and got_gp.dtype == want_dtype
    np.testing.assert_allclose(got_sm.double().numpy(), want_sm, rtol=1e-6)
    np.testing.assert_allclose(got_gp.double().numpy(), want_gp, rtol=1e-6)


def _mp_softmax_skl(s, t):
    mpmath.mp.dps = 50
    out = []
    for a, b in zip(s.tolist(), t.tolist(), strict=True):
        za = mpmath.fsum(mpmath.exp(x) for x in a)
        zb = mpmath.fsum(mpmath.exp(x) for x in b)
        out.append(
            float(
                mpmath.fsum(
                    (mpmath.exp(x) / za - mpmath.exp(y) / zb) * (mpmath.mpf(x) - y)
                    for x, y in zip(a, b, strict=True)
                )
            )
        )
    return np.array(out)


@pytest.mark.parametrize("eps", [1e-2, 1e-4, 1e-6])
def test_stable_form_is_accurate_for_nearly_equal_logits(eps):
    """float32, relative error against mpmath on the same (rounded) inputs: the stable
    form is within 20 float32 eps; the inner form is not (the rival is rejected)."""
    g = torch.Generator().manual_seed(5)
    s = 3 * torch.randn(60, 8, generator=g)
    t = s + eps * torch.randn(60, 8, generator=g)
    ref = _mp_softmax_skl(s.double(), t.double())
    tol = 20 * torch.finfo(torch.float32).eps * 8  # a few eps per term, 8 terms
    stable = dv.symmetric_kl_logits(s, t).double().numpy()
    inner = dv.symmetric_kl_logits(s, t, form="inner").double().numpy()
    assert np.max(np.abs(stable - ref) / ref) < tol
    assert np.max(np.abs(inner - ref) / ref) > tol
    assert (stable >= 0).all()


def test_inner_form_can_round_below_zero_stable_cannot():
    g = torch.Generator().manual_seed(6)
    s = 3 * torch.randn(5000, 16, generator=g)
    t = s + 1e-6 * torch.randn(5000, 16, generator=g)
    assert (dv.symmetric_kl_logits(s, t, form="inner") < 0).any()
    assert (dv.symmetric_kl_logits(s, t) >= 0).all()


def test_binary_stable_form_accurate_when_saturated():
    s = torch.tensor([20.0, -30.0, 3.0, 0.0])
    t = s + torch.tensor([0.5, 0.25, 1e-4, 1e-6])
    mpmath.mp.dps = 50
    sig = lambda x: 1 / (1 + mpmath.exp(-mpmath.mpf(x)))  # noqa: E731
    ref = np.array(
        [
            float((sig(a) - sig(b)) * (mpmath.mpf(a) - b))
            for a, b in zip(s.double().tolist(), t.double().tolist(), strict=True)
        ]
    )
    got = dv.binary_symmetric_kl_logits(s, t).double().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    inner = dv.binary_symmetric_kl_logits(s, t, form="inner").double().numpy()
    assert np.max(np.abs(inner - ref) / ref) > 0.1  # sigmoid(20) rounds to 1 in float32


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_against_float64_reference(dtype):
    """Half inputs are computed in float32: compared with float64 on the same rounded
    inputs, the error is float32 round-off, not half round-off."""
    s, t = _logits(n_rows=100, n=16, scale=4.0, seed=7)
    s, t = s.to(dtype), t.to(dtype)
    for fn in (dv.symmetric_kl_logits, dv.globalpointer_divergence):
        ref = fn(s.double(), t.double())
        got = fn(s, t)
        assert got.dtype == torch.float32
        np.testing.assert_allclose(got.double().numpy(), ref.numpy(), rtol=1e-5)


@pytest.mark.parametrize("fn", [dv.symmetric_kl_logits, dv.binary_symmetric_kl_logits])
def test_gradients_finite_at_equal_logits_and_gradcheck(fn):
    s = torch.randn(4, 5, dtype=F64, requires_grad=True)
    fn(s, s.detach().clone()).sum().backward()
    assert torch.isfinite(s.grad).all()
    assert torch.allclose(s.grad, torch.zeros_like(s.grad), atol=1e-12)  # minimum
    t = torch.randn(4, 5, dtype=F64)
    torch.autograd.gradcheck(
        lambda a: fn(a, t), (torch.randn(4, 5, dtype=F64, requires_grad=True),)
    )


def test_stable_branches_agree_near_the_switch():
    """The log1p branch (centred differences <= 1) and the logsumexp branch are one
    function: on both sides of the switch each equals the float64 inner product."""
    t = torch.tensor([0.3, -1.2, 2.0, 0.1], dtype=F64)
    d = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=F64)
    q = torch.softmax(t, -1)
    lam = 1 / float((d - q @ d).abs().max())  # max centred |delta| = 1 at lam
    for c in (1 - 1e-7, 1 + 1e-7):
        s = t + c * lam * d
        got = float(dv.symmetric_kl_logits(s, t))
        want = float(dv.symmetric_kl_logits(s, t, form="inner"))
        assert got == pytest.approx(want, rel=1e-12)


# ------------------------------------------------------------ properties, with rivals
_vec = arrays(np.float64, st.integers(2, 8), elements=st.floats(-30, 30))


def _pairs():
    return st.integers(2, 8).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.floats(-30, 30)),
            arrays(np.float64, n, elements=st.floats(-30, 30)),
        )
    )


def _one_sided_bernoulli(s, t):  # rival: KL(Bern(sigma(s)) || Bern(sigma(t))) only
    return _bernoulli_kl(s, t)


def _silu_form(s, t):  # rival: <f(s) - f(t), s - t> with a non-monotone f
    return (F.silu(s) - F.silu(t)) * (s - t)


@given(_pairs())
def test_gp_divergence_symmetric_nonnegative(pair):
    s, t = (torch.tensor(x) for x in pair)
    a, b = dv.globalpointer_divergence(s, t), dv.globalpointer_divergence(t, s)
    assert float(a) == pytest.approx(float(b), rel=1e-12, abs=1e-300)
    assert float(a) >= 0


@given(_pairs())
def test_softmax_divergence_symmetric_nonnegative(pair):
    s, t = (torch.tensor(x) for x in pair)
    a, b = dv.symmetric_kl_logits(s, t), dv.symmetric_kl_logits(t, s)
    assert float(a) == pytest.approx(float(b), rel=1e-9, abs=1e-300)
    assert float(a) >= 0


def test_the_property_tests_reject_the_rivals():
    """The same assertions fail for a one-sided KL (not symmetric) and for a
    non-monotone f (not sign-definite)."""
    s, t = torch.tensor([2.0], dtype=F64), torch.tensor([-1.0], dtype=F64)
    a, b = _one_sided_bernoulli(s, t), _one_sided_bernoulli(t, s)
    assert float(a) != pytest.approx(float(b), rel=1e-12)
    s, t = torch.tensor([-1.0], dtype=F64), torch.tensor([-3.0], dtype=F64)
    assert float(_silu_form(s, t)) < 0


def test_divergence_properties_passes_gp_and_rejects_each_rival():
    got = {
        name: dv.divergence_properties(fn, n_pairs=300)
        for name, fn in {
            "gp": dv.globalpointer_divergence,
            "softmax": dv.symmetric_kl_logits,
            "one-sided": lambda s, t: _one_sided_bernoulli(s, t).sum(-1),
            "silu": lambda s, t: _silu_form(s, t).sum(-1),
        }.items()
    }
    keys = ("symmetric", "nonnegative", "zero_iff_equal")
    verdict = {k: tuple(v[x] for x in keys) for k, v in got.items()}
    assert verdict == {
        "gp": (True, True, True),
        "softmax": (True, True, False),  # blind to a common shift
        "one-sided": (False, True, True),
        "silu": (True, False, False),
    }


@given(_vec, st.floats(0.05, 5))
def test_zero_iff_equal_gp_but_not_softmax(s, c):
    """D_gp(s, s) = 0 and D_gp(s, s + c) > 0; the softmax form is 0 at s + c: its zero
    set is 'equal up to a shift', GlobalPointer's is 'equal'."""
    s = torch.tensor(s)
    assert float(dv.globalpointer_divergence(s, s)) == 0.0
    assert float(dv.symmetric_kl_logits(s, s)) == 0.0
    assert float(dv.globalpointer_divergence(s, s + c)) > 0
    assert float(dv.symmetric_kl_logits(s, s + c)) == pytest.approx(0.0, abs=1e-12)


@given(_pairs())
def test_bregman_view(pair):
    """Both divergences are symmetrised Bregman divergences of A = logsumexp and
    A = sum softplus (whose gradients are softmax and sigmoid)."""
    s, t = (torch.tensor(x) for x in pair)
    for a_fn, grad_fn, d_fn in (
        (
            lambda x: torch.logsumexp(x, -1),
            lambda x: torch.softmax(x, -1),
            dv.symmetric_kl_logits,
        ),
        (lambda x: F.softplus(x).sum(-1), torch.sigmoid, dv.globalpointer_divergence),
    ):

        def breg(x, y, a_fn=a_fn, grad_fn=grad_fn):
            return a_fn(x) - a_fn(y) - grad_fn(y) @ (x - y)

        want = float(breg(s, t) + breg(t, s))
        assert float(d_fn(s, t)) == pytest.approx(want, rel=1e-6, abs=1e-9)


# --------------------------------------------------------------------- experiment
def test_teacher_multilabel_shapes_rate_and_seed():
    x, y, xt, yt = dv.teacher_multilabel(400, 100, n_labels=10, rate=0.1, seed=3)
    assert x.shape == (400, 20) and y.shape == (400, 10) and xt.shape == (100, 20)
    np.testing.assert_allclose(y.mean(0).numpy(), 0.1, atol=1 / 400 + 1e-6)
    x2, y2, _, _ = dv.teacher_multilabel(400, 100, n_labels=10, rate=0.1, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(y, dv.teacher_multilabel(400, 100, n_labels=10, seed=4)[1])


def test_micro_f1_matches_sklearn():
    g = torch.Generator().manual_seed(8)
    pred = (torch.rand(3, 50, 7, generator=g) > 0.7).float()
    y = (torch.rand(3, 50, 7, generator=g) > 0.8).float()
    got = dv._micro_f1(pred, y)
    for k in range(3):
        want = f1_score(y[k].numpy(), pred[k].numpy(), average="micro")
        assert float(got[k]) == pytest.approx(want, rel=1e-6)


def test_rdrop_zlpr_is_the_library_multilabel_ce():
    # the training loss is kexue.losses.multilabel.multilabel_ce (ZLPR), checked here
    # against its definition log(1 + sum_pos e^-s) + log(1 + sum_neg e^s)
    g = torch.Generator().manual_seed(9)
    s = torch.randn(6, 5, generator=g, dtype=F64)
    y = (torch.rand(6, 5, generator=g) > 0.6).double()
    want = [
        math.log(1 + sum(math.exp(-a) for a, b in zip(r, c, strict=True) if b))
        + math.log(1 + sum(math.exp(a) for a, b in zip(r, c, strict=True) if not b))
        for r, c in zip(s.tolist(), y.tolist(), strict=True)
    ]
    got = dv.multilabel_ce(s, y, check=False)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_tuned_f1_picks_the_training_optimum_and_micro_ap_matches_sklearn():
    from sklearn.metrics import average_precision_score

    g = torch.Generator().manual_seed(10)
    y = (torch.rand(2, 200, 5, generator=g) > 0.8).float()
    s = 2 * y[:, None] - 1.5 + torch.randn(2, 3, 200, 5, generator=g)  # (K, V, ., .)
    tuned, thr = dv._tuned_f1(s, y[:, None], s, y[:, None])  # test = train
    best = torch.stack(
        [dv._micro_f1((s > h).float(), y[:, None]) for h in dv.THRESHOLDS]
    ).amax(0)
    np.testing.assert_allclose(tuned.numpy(), best.numpy())
    assert thr.shape == (2, 3) and set(thr.ravel()) <= set(dv.THRESHOLDS)
    f0 = dv._micro_f1((s > 0).float(), y[:, None])
    assert (tuned >= f0).all()  # 0 is on the grid
    ap = dv._micro_ap(s.numpy(), y.numpy())
    assert ap.shape == (2, 3)
    want = average_precision_score(y[1].numpy().ravel(), s[1, 2].numpy().ravel())
    assert ap[1, 2] == pytest.approx(want)
    perfect = dv._micro_ap(y[:, None].numpy() + 0.0, y.numpy())
    np.testing.assert_allclose(perfect, 1.0)


def test_rdrop_pairing_identical_variants_identical_results():
    v = [("none", 0.0), ("none", 0.0), ("globalpointer", 0.5), ("softmax", 0.5)]
    r = dv.rdrop_multilabel(
        v,
        seeds=(0, 1),
        n_train=64,
        n_test=64,
        n_labels=6,
        hidden=16,
        steps=30,
        batch_size=16,
        progress=False,
    )
    assert r.test_f1.shape == (2, 4) and r.true_positives.shape == (2,)
    np.testing.assert_array_equal(r.test_f1[:, 0], r.test_f1[:, 1])
    np.testing.assert_array_equal(r.test_gp_div[:, 0], r.test_gp_div[:, 1])
    assert r.paired("test_f1", 1) == (0.0, 0.0)
    assert math.isnan(r.t_stat("test_f1", 1))
    for m in ("test_f1_tuned", "threshold", "test_ap"):
        np.testing.assert_array_equal(getattr(r, m)[:, 0], getattr(r, m)[:, 1])
    # the regulariser changes the training (the variants are not accidentally equal)
    assert not np.array_equal(r.test_gp_div[:, 0], r.test_gp_div[:, 2])
    r2 = dv.rdrop_multilabel(
        v,
        seeds=(0, 1),
        n_train=64,
        n_test=64,
        n_labels=6,
        hidden=16,
        steps=30,
        batch_size=16,
        progress=False,
    )
    np.testing.assert_array_equal(r.test_f1, r2.test_f1)  # seeded


def test_rdrop_gp_regulariser_lowers_gp_inconsistency():
    v = [("none", 0.0), ("globalpointer", 1.0)]
    r = dv.rdrop_multilabel(
        v,
        seeds=(0, 1, 2),
        n_train=128,
        n_test=256,
        n_labels=8,
        hidden=32,
        steps=150,
        progress=False,
    )
    assert (r.test_gp_div[:, 1] < r.test_gp_div[:, 0]).all()


def test_rdrop_figure_plots_paired_differences():
    import matplotlib.pyplot as plt

    v = [("none", 0.0), ("globalpointer", 0.1), ("globalpointer", 1.0)]
    r = dv.rdrop_multilabel(
        v,
        seeds=(0, 1),
        n_train=32,
        n_test=16,
        n_labels=4,
        hidden=8,
        steps=5,
        progress=False,
    )
    fig = dv.rdrop_figure(r, t_crit=3.0)
    metrics = ("test_f1", "test_f1_tuned", "test_ap", "predicted_positives")
    metrics += ("threshold", "test_gp_div")
    assert len(fig.axes) == len(metrics)
    for ax, metric in zip(fig.axes, metrics, strict=True):
        line = ax.containers[0].lines[0]  # the errorbar data line
        np.testing.assert_allclose(np.asarray(line.get_xdata(), float), [0.1, 1.0])
        want = [r.paired(metric, j)[0] for j in (1, 2)]
        np.testing.assert_allclose(np.asarray(line.get_ydata(), float), want)
        fig.canvas.draw()  # the alpha ticks survive the log scale
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "1"]
    plt.close(fig)


@pytest.mark.parametrize("shift", range(-3, 4))
@pytest.mark.parametrize("noise", [0.0, 0.5, 1.0])
def test_shift_figure_every_demo_frame_shows_every_point(shift, noise):
    # the demo's 21 frames: no point outside the y-limits, none under the legend
    import matplotlib.pyplot as plt

    fig = dv.shift_figure(float(shift), noise)
    ax = fig.axes[0]
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    box = ax.get_legend().get_window_extent()
    for line in ax.get_lines():
        xy = np.asarray(line.get_xydata(), float)
        if line.get_linestyle() not in ("None", "") or not len(xy):
            continue  # the threshold line
        assert (xy[:, 1] > lo).all() and (xy[:, 1] < hi).all()
        for px, py in ax.transData.transform(xy):
            assert not box.contains(px, py)
    plt.close(fig)


def test_shift_figure_softmax_blind_to_shift():
    import matplotlib.pyplot as plt

    fig = dv.shift_figure(2.0, 0.0)
    bars = fig.axes[1].patches
    assert bars[1].get_height() == pytest.approx(0.0, abs=1e-12)
    assert bars[0].get_height() > 1
    plt.close(fig)


@pytest.mark.parametrize(
    "call",
    [
        lambda: dv.symmetric_kl(torch.tensor([0.5, 0.6]), torch.tensor([0.5, 0.5])),
        lambda: dv.symmetric_kl(torch.tensor([1.5, -0.5]), torch.tensor([0.5, 0.5])),
        lambda: dv.symmetric_kl_logits(torch.ones(3), torch.ones(4)),
        lambda: dv.symmetric_kl_logits(torch.ones(3), torch.ones(3, dtype=F64)),
        lambda: dv.symmetric_kl_logits(torch.ones(3), torch.ones(3), dim=1),
        lambda: dv.symmetric_kl_logits(torch.tensor([1.0, math.nan]), torch.ones(2)),
        lambda: dv.globalpointer_divergence(torch.ones(3), torch.ones(3), dim=(0, 0)),
        lambda: dv.globalpointer_divergence(
            torch.ones(3), torch.ones(3), mask=torch.tensor([0.0, 0.5, 1.0])
        ),
        lambda: dv.globalpointer_divergence(
            torch.ones(3), torch.ones(3), mask=torch.ones(4, dtype=torch.bool)
        ),
        lambda: dv.rdrop_multilabel([("none", 0.3)], steps=1),
        lambda: dv.rdrop_multilabel([("globalpointer", 0.0)], steps=1),
        lambda: dv.rdrop_multilabel([("none", 0.0)], seeds=(0, 0), steps=1),
    ],
)
def test_bad_input(call):
    with pytest.raises((ValueError, TypeError)):
        call()
