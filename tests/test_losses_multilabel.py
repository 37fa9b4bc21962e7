"""Tests of kexue.losses.multilabel (chapter softmax/multilabel-nm).

Oracles: torch.nn.functional.{binary_cross_entropy_with_logits, cross_entropy,
kl_div}, scipy.special.{logsumexp, rel_entr}, closed forms derived by hand below, a
float64 reference for the float16/bfloat16/large-logit cases, and hypothesis for the
inequalities.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from kexue.losses import multilabel as ml
from scipy.special import logsumexp, rel_entr

F64 = torch.float64
SETTINGS = settings(max_examples=60, deadline=None)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _hard_rows(seed, rows=5, c=9, scale=3.0):
    g = _gen(seed)
    s = torch.randn(rows, c, generator=g, dtype=F64) * scale
    t = (torch.rand(rows, c, generator=g) < 0.3).to(F64)
    return s, t


def _soft_nm(seed, n=4, m=3, scale=1.0):
    g = _gen(seed)
    s = torch.randn(2, n, m, generator=g, dtype=F64) * 2
    t = torch.softmax(torch.randn(2, n, m, generator=g, dtype=F64) * scale, -1)
    return s, t


def _onehot_nm(seed, n=6, m=5, batch=3):
    g = _gen(seed)
    s = torch.randn(batch, n, m, generator=g, dtype=F64) * 3
    y = torch.randint(0, m, (batch, n), generator=g)
    return s, y, F.one_hot(y, m).to(F64)


# ----------------------------------------------------------------- multilabel_ce
def test_hard_form_against_scipy_logsumexp():
    s, t = _hard_rows(0)
    got = ml.multilabel_ce(s, t)
    for r in range(s.shape[0]):
        pos, neg = s[r][t[r] == 1].numpy(), s[r][t[r] == 0].numpy()
        want = logsumexp(np.r_[0.0, -pos]) + logsumexp(np.r_[0.0, neg])
        assert float(got[r]) == pytest.approx(want, rel=1e-12)


def test_one_label_is_bce_with_logits():
    # n = 1, hard target: log(1 + e^{-s}) or log(1 + e^{s}), the binary CE exactly
    s = torch.linspace(-30, 30, 61, dtype=F64)[:, None]
    for target in (0.0, 1.0):
        t = torch.full_like(s, target)
        got = ml.multilabel_ce(s, t)
        want = F.binary_cross_entropy_with_logits(s, t, reduction="none")[:, 0]
        # torch's log(1 + e^{-|s|}) is accurate to ~1e-15 absolute, not relative
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)
        sign = 1 if target == 0 else -1  # and ours is accurate relative to math
        exact = [math.log1p(math.exp(sign * v)) for v in s[:, 0].tolist()]
        np.testing.assert_allclose(got.numpy(), exact, rtol=1e-13)


def test_one_positive_is_bce_plus_cross_entropy_with_a_zero_logit():
    # derived by hand: with one positive j the loss splits into log(1 + e^{-s_j})
    # (binary CE of s_j, target 1) and log(1 + sum_neg e^{s}) = cross-entropy of
    # the logits (0, s_neg) for class 0
    g = _gen(1)
    s = torch.randn(8, 6, generator=g, dtype=F64) * 4
    j = torch.randint(0, 6, (8,), generator=g)
    t = F.one_hot(j, 6).to(F64)
    s_j = s.gather(1, j[:, None])[:, 0]
    neg = s.masked_fill(t.bool(), -math.inf)
    ce = F.cross_entropy(
        torch.cat([torch.zeros(8, 1, dtype=F64), neg], 1),
        torch.zeros(8, dtype=torch.long),
        reduction="none",
    )
    bce = F.binary_cross_entropy_with_logits(
        s_j, torch.ones_like(s_j), reduction="none"
    )
    torch.testing.assert_close(ml.multilabel_ce(s, t), bce + ce, rtol=1e-12, atol=0)


def test_soft_form_by_hand_and_floor():
    s = torch.tensor([[0.3, -1.2, 2.0]], dtype=F64)
    t = torch.tensor([[0.25, 0.0, 0.9]], dtype=F64)
    want = math.log(1 + 0.25 * math.exp(-0.3) + 0.9 * math.exp(-2.0)) + math.log(
        1 + 0.75 * math.exp(0.3) + math.exp(-1.2) + 0.1 * math.exp(2.0)
    )
    assert float(ml.multilabel_ce(s, t)) == pytest.approx(want, rel=1e-13)
    # the floor is the value at s = artanh-like optimum 0.5 log(t / (1 - t))
    tt = torch.tensor([[0.25, 0.6, 0.9]], dtype=F64)
    s_opt = 0.5 * torch.log(tt / (1 - tt))
    torch.testing.assert_close(
        ml.multilabel_ce(s_opt, tt), ml.multilabel_ce_floor(tt), rtol=1e-13, atol=0
    )
    torch.testing.assert_close(ml.multilabel_probs(s_opt), tt, rtol=1e-13, atol=0)


def test_mask_equals_dropping_the_entries_and_neg_inf_logits_are_not_counted():
    s, t = _hard_rows(2, rows=3, c=8)
    keep = torch.tensor([True, False, True, True, False, True, True, True])
    want = ml.multilabel_ce(s[:, keep], t[:, keep])
    torch.testing.assert_close(ml.multilabel_ce(s, t, mask=keep), want)
    # a -inf logit with target 0 is "not there" (value and gradient)
    s2 = s.clone()
    s2[:, ~keep] = -math.inf
    t2 = t.clone()
    t2[:, ~keep] = 0
    x = s2.clone().requires_grad_()
    v = ml.multilabel_ce(x, t2)
    torch.testing.assert_close(v, want)
    v.sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad[:, ~keep] == 0).all()
    y = s[:, keep].clone().requires_grad_()
    ml.multilabel_ce(y, t[:, keep]).sum().backward()
    torch.testing.assert_close(x.grad[:, keep], y.grad)


def test_positive_at_neg_inf_costs_infinity_and_torch_bce_would_nan():
    s = torch.tensor([[-math.inf, 1.0]])
    t = torch.tensor([[1.0, 0.0]])
    assert ml.multilabel_ce(s, t).item() == math.inf


def test_eps_treats_near_zero_and_one_as_exact():
    s = torch.tensor([[-1e7, 2.0, 1e3]], dtype=F64)  # a "masked by -1e7" logit
    t = torch.tensor([[1e-9, 1.0, 1 - 1e-9]], dtype=F64)
    exact = ml.multilabel_ce(s, torch.tensor([[0.0, 1.0, 1.0]], dtype=F64))
    torch.testing.assert_close(ml.multilabel_ce(s, t, eps=1e-7), exact)
    # without eps the tiny target times e^{1e7} is what the formula says: huge
    assert ml.multilabel_ce(s, t).item() > 1e6


def test_tiny_losses_keep_relative_accuracy():
    # log1p regime: a perfectly separated row has loss ~ e^{-40} + e^{-40}
    s = torch.tensor([[40.0, -40.0]])
    t = torch.tensor([[1.0, 0.0]])
    want = 2 * math.log1p(math.exp(-40))
    assert ml.multilabel_ce(s, t).item() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_stable_at_1e4_and_in_low_precision(dtype):
    g = _gen(3)
    u = torch.rand(16, 50, generator=g) * 2 - 1
    t = (torch.rand(16, 50, generator=g) < 0.4).float()
    for scale in (1.0, 30.0, 1e4):
        s = (u * scale).to(dtype)
        got = ml.multilabel_ce(s, t.to(dtype))
        assert got.dtype == dtype and torch.isfinite(got).all()
        ref = ml.multilabel_ce(s.double(), t.double())  # the same rounded logits
        # error model: rounding of the output to dtype (unit roundoff u) plus
        # float32 arithmetic on <= 51 terms, far below u for half types
        u_r = torch.finfo(dtype).eps / 2
        tol = u_r * ref.abs() + (
            64 * 2.0**-24 * ref.abs() if dtype == torch.float32 else 0
        )
        assert ((got.double() - ref).abs() <= tol + 1e-30).all()
    # the naive formula overflows long before: e^{89} is inf in float32
    s = (u * 100).float()
    naive = torch.log1p((t * torch.exp(-s)).sum(-1)) + torch.log1p(
        ((1 - t) * torch.exp(s)).sum(-1)
    )
    assert not torch.isfinite(naive).all()


def test_gradient_is_sigmoid_like_and_finite_at_extremes():
    x = torch.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    ml.multilabel_ce(x, torch.tensor([[0.0, 1.0, 1.0]])).sum().backward()
    assert torch.isfinite(x.grad).all()
    # dominant negative at 1e4: its gradient -> 1; dominant positive at -1e4 -> -1
    assert x.grad[0, 0].item() == pytest.approx(1.0)
    assert x.grad[0, 1].item() == pytest.approx(-1.0)


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 12), st.floats(0.1, 20.0))
def test_hard_multilabel_ce_is_at_most_summed_bce(seed, c, scale):
    # (1 + x)^t = 1 + t x for t in {0, 1} and prod (1 + a) >= 1 + sum a
    s, t = _hard_rows(seed, rows=4, c=c, scale=scale)
    bce = F.binary_cross_entropy_with_logits(s, t, reduction="none").sum(-1)
    z = ml.multilabel_ce(s, t)
    assert (z <= bce + 1e-12 * (1 + bce)).all()
    # and at least the largest single binary CE of each part
    assert (z >= bce.new_zeros(()) - 1e-15).all()


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 8))
def test_soft_loss_never_below_its_floor(seed, c):
    g = _gen(seed)
    s = torch.randn(6, c, generator=g, dtype=F64) * 3
    t = torch.rand(6, c, generator=g, dtype=F64)
    assert (ml.multilabel_ce(s, t) >= ml.multilabel_ce_floor(t) - 1e-12).all()


# ------------------------------------------------------------------ n m-way losses
def test_nm_softmax_ce_against_torch_cross_entropy():
    s, t = _soft_nm(4)
    want = F.cross_entropy(
        s.reshape(-1, 3), t.reshape(-1, 3), reduction="none"
    ).reshape(2, 4)
    torch.testing.assert_close(ml.nm_softmax_ce(s, t), want.sum(-1))


def test_nm_losses_with_masked_classes_where_torch_cross_entropy_is_nan():
    s = torch.tensor([[[2.0, -math.inf, 0.5], [0.0, 1.0, -math.inf]]], dtype=F64)
    t = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]], dtype=F64)
    assert torch.isnan(F.cross_entropy(s[0], t[0], reduction="sum"))
    finite = torch.tensor([[2.0, 0.5], [0.0, 1.0]], dtype=F64)
    want = F.cross_entropy(finite, torch.tensor([0, 1]), reduction="sum")
    for fn in (ml.nm_softmax_ce, ml.nm_loss_analogue):  # equal here: see below
        x = s.clone().requires_grad_()
        v = fn(x, t).sum()
        assert v.item() == pytest.approx(want.item(), rel=1e-12)
        v.sum().backward()
        assert torch.isfinite(x.grad).all() and x.grad[0, 0, 1] == 0


def test_analogue_equals_ce_when_each_class_labels_at_most_one_task():
    # then every product in (nm-ce) has one factor and the truncation is exact
    g = _gen(5)
    s = torch.randn(4, 5, 7, generator=g, dtype=F64) * 3
    y = torch.stack([torch.randperm(7, generator=g)[:5] for _ in range(4)])
    t = F.one_hot(y, 7).to(F64)
    want = F.cross_entropy(s.reshape(-1, 7), y.reshape(-1), reduction="none")
    torch.testing.assert_close(
        ml.nm_loss_analogue(s, t), want.reshape(4, 5).sum(-1), rtol=1e-12, atol=0
    )


def test_centered_one_task_is_bce_of_the_centred_logit():
    # n = 1, target j: log(1 + e^{mean - s_j}) = BCE_with_logits(s_j - mean, 1)
    s, y, t = _onehot_nm(6, n=1)
    z = s.gather(-1, y[..., None])[..., 0, 0] - s[:, 0].mean(-1)
    want = F.binary_cross_entropy_with_logits(z, torch.ones_like(z), reduction="none")
    torch.testing.assert_close(ml.nm_loss_centered(s, t), want, rtol=1e-12, atol=0)


def test_two_classes_reduce_to_multilabel_ce():
    # (nm-m2): attempt 1 is ZLPR of s1 - s2, attempt 2 ZLPR of (s1 - s2) / 2
    s, t = _soft_nm(7, n=5, m=2)
    d = s[..., 0] - s[..., 1]
    torch.testing.assert_close(
        ml.nm_loss_analogue(s, t), ml.multilabel_ce(d, t[..., 0])
    )
    torch.testing.assert_close(
        ml.nm_loss_centered(s, t), ml.multilabel_ce(d / 2, t[..., 0])
    )


def test_task_mask_equals_dropping_tasks():
    s, t = _soft_nm(8, n=5)
    keep = torch.tensor([True, False, True, True, False])
    for fn in ml.NM_LOSSES.values():
        torch.testing.assert_close(fn(s, t, mask=keep), fn(s[:, keep], t[:, keep]))
    # masked tasks may be garbage (all -inf, rows not summing to 1)
    s2, t2 = s.clone(), t.clone()
    s2[:, ~keep] = -math.inf
    t2[:, ~keep] = 7.0 / 7.0 * 0.5
    for fn in ml.NM_LOSSES.values():
        torch.testing.assert_close(fn(s2, t2, mask=keep), fn(s[:, keep], t[:, keep]))


def test_centered_optimum_is_softmax_and_floor():
    _, t = _soft_nm(9)
    s = torch.log(t) + torch.randn(2, 4, 1, generator=_gen(1), dtype=F64) * 5
    torch.testing.assert_close(ml.nm_loss_centered(s, t), ml.nm_centered_floor(t))
    # the floor is a minimum: perturbations only raise the loss
    for k in range(5):
        e = torch.randn(s.shape, generator=_gen(10 + k), dtype=F64) * 0.3
        assert (ml.nm_loss_centered(s + e, t) >= ml.nm_centered_floor(t) - 1e-12).all()


def test_centered_loss_near_zero_while_the_wrong_class_wins():
    t = torch.tensor([[[0.0, 1.0, 0.0]]], dtype=F64)
    s = torch.tensor([[[1.0, 0.0, -40.0]]], dtype=F64)  # class 0 beats the target
    assert float(ml.nm_loss_centered(s, t)) == pytest.approx(math.log1p(math.exp(-13)))
    assert float(ml.nm_loss_analogue(s, t)) > math.log(2)
    assert float(ml.nm_softmax_ce(s, t)) > math.log(2)


def test_analogue_fixed_point_matches_lbfgs_and_is_not_t():
    _, t = _soft_nm(11)
    t = t[0]
    fp = ml.nm_analogue_optimum(t)
    r = ml.minimise_logits(ml.nm_loss_analogue, t)
    p = torch.softmax(r["s"], -1)
    assert (fp["p"] - p).abs().max() < 10 * r["bound"] + 1e-10
    q = torch.softmax(2 * r["s"], -1)
    w = t / fp["D"]
    torch.testing.assert_close(q, w / w.sum(-1, keepdim=True), atol=1e-6, rtol=0)
    assert (p - t).abs().max() > 0.05  # the optimum is not the soft target


def test_analogue_grad_formula_against_autograd():
    s, t = _soft_nm(15)
    t[0, 1] = torch.tensor([0.0, 1.0, 0.0], dtype=F64)  # a hard task among soft ones
    x = s.clone().requires_grad_()
    ml.nm_loss_analogue(x, t).sum().backward()
    torch.testing.assert_close(
        ml.nm_analogue_grad(s, t), x.grad, rtol=1e-10, atol=1e-12
    )


def test_lbfgs_optima_of_ce_and_centered_are_the_target():
    _, t = _soft_nm(12)
    for fn in (ml.nm_softmax_ce, ml.nm_loss_centered):
        r = ml.minimise_logits(fn, t[0])
        err = (torch.softmax(r["s"], -1) - t[0]).abs().max()
        assert err <= r["bound"] + 1e-12 and r["bound"] < 1e-5


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 8), st.integers(2, 6))
def test_hard_label_sandwich_and_error_bound(seed, n, m):
    # one-hot targets: sum_j CE_j / n_j <= l1 <= CE, and l1 >= log(1 + #errors)
    s, y, t = _onehot_nm(seed, n=n, m=m)
    ce_task = F.cross_entropy(
        s.reshape(-1, m), y.reshape(-1), reduction="none"
    ).reshape(s.shape[:2])
    l1 = ml.nm_loss_analogue(s, t)
    assert (l1 <= ce_task.sum(-1) * (1 + 1e-12) + 1e-12).all()
    counts = t.sum(1)  # (batch, m)
    per_class = torch.einsum("bn,bnm->bm", ce_task, t)
    lower = torch.where(counts > 0, per_class / counts.clamp(min=1), 0).sum(-1)
    assert (l1 >= lower * (1 - 1e-12) - 1e-12).all()
    wrong = (ml.target_margins(s, y)["rival"] <= 0).sum(-1)
    assert (l1 >= torch.log1p(wrong.to(F64)) - 1e-12).all()


@SETTINGS
@given(st.integers(0, 10_000), st.floats(-5, 5))
def test_shift_invariance(seed, c):
    s, t = _soft_nm(seed)
    shift = torch.full((2, 4, 1), c, dtype=F64)
    for fn in ml.NM_LOSSES.values():
        torch.testing.assert_close(fn(s + shift, t), fn(s, t), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_nm_losses_stable_in_low_precision_and_at_1e4(dtype):
    s, y, t = _onehot_nm(13, n=6, m=5, batch=8)
    for scale in (1.0, 1e4 / 3):
        x = (s * scale).to(dtype)
        for fn in ml.NM_LOSSES.values():
            got = fn(x, t.to(dtype))
            ref = fn(x.double(), t)
            assert got.dtype == dtype
            # inf only where the true value is beyond the dtype's range
            fits = ref < torch.finfo(dtype).max
            assert (torch.isfinite(got) == fits).all() and fits.any()
            # rounding of the output, plus float32 arithmetic (~30 terms)
            tol = (torch.finfo(dtype).eps / 2 + 256 * 2.0**-24) * ref.abs() + 1e-6
            err = (got.double() - ref).abs()[fits]
            assert (err <= tol[fits]).all(), fn.__name__


def test_analogue_where_p_rounds_to_one_in_float32():
    # the naive log((1 - p) / p) is log(0) = -inf here; the stable form is exact
    s = torch.tensor([[[30.0, 0.0, -5.0]]])
    t = torch.tensor([[[1.0, 0.0, 0.0]]])
    want = math.log1p(math.exp(-30) + math.exp(-35))
    assert float(ml.nm_loss_analogue(s, t)) == pytest.approx(want, rel=1e-6)


def test_categorical_kl_against_scipy_rel_entr_and_kl_div():
    s, t = _soft_nm(14)
    t = t.clone()
    t[0, 0] = torch.tensor([0.0, 0.4, 0.6], dtype=F64)  # a 0 log 0 entry
    p = torch.softmax(s, -1)
    want = rel_entr(t.numpy(), p.numpy()).sum(-1)
    got = ml.categorical_kl(t, s)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    kd = F.kl_div(torch.log_softmax(s, -1), t, reduction="none").sum(-1)
    torch.testing.assert_close(got, kd)
    s2 = s.clone()
    s2[0, 0, 0] = -math.inf  # masked class with t = 0: still finite
    assert torch.isfinite(ml.categorical_kl(t, s2)).all()


def test_training_helpers_learn_and_margins():
    d = ml.tagging_task(200, 100, seeds=(0, 1), n_tasks=3, n_classes=4, dim=5)
    assert d["x_train"].shape == (2, 200, 5) and d["y_test"].shape == (2, 100, 3)
    p = ml.train_linear_tagger(
        d["x_train"], d["y_train"], "softmax CE", n_classes=4, steps=60, progress=False
    )
    acc = (ml.tagger_logits(p, d["x_test"]).argmax(-1) == d["y_test"]).float().mean()
    assert acc > 0.7 and p["loss"][-1].max() < p["loss"][0].min()
    # each run trains as if alone (summed losses, per-coordinate Adam)
    p1 = ml.train_linear_tagger(
        d["x_train"][1],
        d["y_train"][1],
        "softmax CE",
        n_classes=4,
        steps=60,
        progress=False,
    )
    torch.testing.assert_close(p1["w"], p["w"][1], rtol=1e-4, atol=1e-5)
    mg = ml.target_margins(torch.tensor([[1.0, 0.0, -40.0]]), torch.tensor([1]))
    assert mg["rival"].item() == -1.0 and mg["centred"].item() == pytest.approx(13.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ml.multilabel_ce(torch.zeros(2, 3), torch.zeros(2, 4)),
        lambda: ml.multilabel_ce(torch.zeros(2, 3), torch.full((2, 3), 1.5)),
        lambda: ml.multilabel_ce(torch.tensor([[math.nan]]), torch.zeros(1, 1)),
        lambda: ml.multilabel_ce(torch.tensor([[math.inf]]), torch.zeros(1, 1)),
        lambda: ml.multilabel_ce(
            torch.zeros(2, 3), torch.zeros(2, 3), mask=torch.ones(2, 3)
        ),
        lambda: ml.nm_softmax_ce(torch.zeros(2, 3), torch.full((2, 3), 0.5)),
        lambda: ml.nm_loss_analogue(
            torch.full((1, 3), -math.inf), torch.tensor([[1.0, 0, 0]])
        ),
        lambda: ml.nm_analogue_optimum(torch.tensor([[1.0, 0.0]])),
    ],
)
def test_bad_input(call):
    with pytest.raises((ValueError, TypeError)):
        call()


# ------------------------ multilabel_ce's one-node autograd.Function vs the composite
def _ml_pair(s, t, mask=None):
    """(fast, reference) values and gradients of eq. (ml-soft) on the same logits."""
    w_pos, w_neg = (t, 1 - t) if mask is None else (t * mask, (1 - t) * mask)
    out = []
    for fn in (ml.multilabel_ce, None):
        x = s.clone().requires_grad_()
        if fn is None:
            cd = torch.promote_types(s.dtype, torch.float32)
            v = ml._multilabel_ce_composite(x.to(cd), w_pos.to(cd), w_neg.to(cd))
            v = v.to(s.dtype)
        else:
            v = fn(x, t, mask=mask, check=False)
        v.sum().backward()
        out.append((v.detach(), x.grad))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e3, 1e4, 6e4])
@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_fast_function_matches_the_composite(dtype, scale, kind):
    g = torch.Generator().manual_seed(int(scale) % 97)
    s = ((torch.rand(16, 300, generator=g, dtype=F64) * 2 - 1) * scale).to(dtype)
    t = torch.rand(16, 300, generator=g, dtype=F64)
    t = ((t < 0.3).to(F64) if kind == "hard" else t).to(dtype)
    (vf, gf), (vr, gr) = _ml_pair(s, t)
    u = torch.finfo(dtype).eps
    # error model: both round a sum of 300 terms and one log: a few hundred ulps
    torch.testing.assert_close(vf, vr, rtol=300 * u, atol=0)
    torch.testing.assert_close(
        gf, gr, rtol=300 * u, atol=300 * u * float(gr.abs().max())
    )


def test_fast_function_edge_rows():
    inf = math.inf
    s = torch.tensor(
        [
            [0.5, -inf, 2.0],  # masked -inf logit, target 0: gradient exactly 0
            [-200.0, 10.0, 3.0],  # zero-weight entry far above the kept ones
            [1.0, 2.0, 3.0],  # no positives
            [70.0, 70.0, 70.0],  # a loss of 3 e^-70: the 1e-30 regime
            [1e4, -1e4, 0.0],
        ],
        dtype=F64,
    )
    t = torch.tensor(
        [[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 1], [1, 0, 1.0]], dtype=F64
    )
    (vf, gf), (vr, gr) = _ml_pair(s, t)
    # error model: the 1e-30 row goes through exp(log(sum) + m), |exponent| ~ 70:
    # about 70 ulps relative; the others share the composite's arithmetic
    torch.testing.assert_close(vf, vr, rtol=100 * 2**-52, atol=0)
    torch.testing.assert_close(gf, gr, rtol=100 * 2**-52, atol=1e-300)
    assert gf[0, 1].item() == 0.0
    assert vf[3].item() == pytest.approx(3 * math.exp(-70), rel=1e-13)
    keep = torch.tensor([True, False, True])  # a mask goes the same way
    (vf, gf), (vr, gr) = _ml_pair(s[:, [0, 2, 1]], t, mask=keep)
    torch.testing.assert_close((vf, gf), (vr, gr), rtol=100 * 2**-52, atol=1e-300)


def test_fast_function_gradcheck_and_hessian():
    g = torch.Generator().manual_seed(3)
    s = torch.randn(3, 5, generator=g, dtype=F64, requires_grad=True)
    t = torch.rand(3, 5, generator=g, dtype=F64)
    assert torch.autograd.gradcheck(lambda x: ml.multilabel_ce(x, t), (s,))
    assert torch.autograd.gradgradcheck(lambda x: ml.multilabel_ce(x, t), (s,))
    h = torch.autograd.functional.hessian(lambda x: ml.multilabel_ce(x, t).sum(), s)
    h_ref = torch.autograd.functional.hessian(
        lambda x: ml._multilabel_ce_composite(x, t, 1 - t).sum(), s
    )
    torch.testing.assert_close(h, h_ref, rtol=1e-12, atol=1e-14)
    tt = t.clone().requires_grad_()  # targets that need a gradient: the composite
    ml.multilabel_ce(s.detach(), tt).sum().backward()
    assert tt.grad is not None and torch.isfinite(tt.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fast_function_low_precision(dtype):
    g = torch.Generator().manual_seed(5)
    s = ((torch.rand(8, 200, generator=g) * 2 - 1) * 1e4).to(dtype)
    t = (torch.rand(8, 200, generator=g) < 0.3).to(dtype)
    (vf, gf), (vr, gr) = _ml_pair(s, t)
    assert vf.dtype == gf.dtype == dtype
    torch.testing.assert_close(vf, vr, rtol=0, atol=0)  # same float32 sums, one cast
    torch.testing.assert_close(gf.float(), gr.float(), rtol=2 * 2**-8, atol=1e-3)


@pytest.mark.parametrize("low", [-math.inf, -1e12, -1e4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_masked_rows_take_the_fallback_under_inference_mode(low, dtype):
    # a logit far below the rest with target 0 sends its row to the fallback of the
    # one-node Function; it must run without autograd and match the composite
    s = torch.tensor([[low, 0.3, -1.2, 2.0], [0.5, -0.1, 0.2, 1.0]], dtype=dtype)
    t = torch.tensor([[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    ref = ml._multilabel_ce_composite(s, t, 1 - t)
    with torch.inference_mode():
        got = ml.multilabel_ce(s, t)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)
    x = s.clone().requires_grad_()
    ml.multilabel_ce(x, t).sum().backward()
    xr = s.clone().requires_grad_()
    ml._multilabel_ce_composite(xr, t, 1 - t).sum().backward()
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-6, atol=1e-7, equal_nan=False)
