"""Tests of kexue.losses.margin (chapter softmax/margin-softmax).

Oracles: torch.nn.functional.cross_entropy on the margin-adjusted logits (the losses
are written from the post's log(1 + sum exp) form instead), scikit-learn's
NearestNeighbors and average_precision_score (retrieval), brute-force enumeration of
triples, scipy's paired t-test, and a run trained alone (batched training).
"""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from kexue.losses import margin as mg
from scipy import stats
from sklearn.metrics import average_precision_score
from sklearn.neighbors import NearestNeighbors


def _cos_batch(b=7, c=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    cos = torch.rand(b, c, generator=g, dtype=dtype) * 2 - 1
    y = torch.randint(0, c, (b,), generator=g)
    return cos, y


# ------------------------------------------------------------------------ losses
@pytest.mark.parametrize(("m", "s"), [(0.0, 1.0), (0.35, 30.0), (0.2, 16.0), (-0.1, 4)])
def test_am_softmax_equals_cross_entropy_on_margin_logits(m, s):
    cos, y = _cos_batch()
    ref = F.cross_entropy(s * (cos - m * F.one_hot(y, 5).double()), y, reduction="none")
    got = mg.am_softmax_loss(cos, y, margin=m, scale=s, reduction="none")
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        mg.am_softmax_loss(cos, y, margin=m, scale=s), ref.mean(), rtol=1e-12, atol=0
    )
    torch.testing.assert_close(
        mg.am_softmax_loss(cos, y, margin=m, scale=s, reduction="sum"),
        ref.sum(),
        rtol=1e-12,
        atol=0,
    )


def test_margin_zero_is_normalised_softmax_cross_entropy():
    g = torch.Generator().manual_seed(1)
    z, w = torch.randn(9, 6, generator=g), torch.randn(4, 6, generator=g)
    y = torch.randint(0, 4, (9,), generator=g)
    cos = F.normalize(z, dim=1) @ F.normalize(w, dim=1).T
    ref = F.cross_entropy(16.0 * cos, y)
    torch.testing.assert_close(mg.am_softmax_loss(cos, y, margin=0, scale=16), ref)


@pytest.mark.parametrize(("m", "s"), [(0.0, 2.0), (0.5, 10.0), (1.3, 0.5)])
def test_margin_ce_from_distance_equals_cross_entropy(m, s):
    g = torch.Generator().manual_seed(2)
    d = torch.rand(8, 4, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, 4, (8,), generator=g)
    ref = F.cross_entropy(
        -s * d - s * m * F.one_hot(y, 4).double(), y, reduction="none"
    )
    got = mg.margin_ce_from_distance(d, y, margin=m, scale=s, reduction="none")
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_am_softmax_is_margin_ce_with_distance_minus_cos():
    cos, y = _cos_batch(seed=3)
    torch.testing.assert_close(
        mg.margin_ce_from_distance(-cos, y, margin=0.3, scale=8.0),
        mg.am_softmax_loss(cos, y, margin=0.3, scale=8.0),
    )


def test_losses_are_stable_at_huge_logits():
    # scale 1e4 makes the logits +-1e4: exp overflows in a naive implementation
    cos = torch.tensor([[0.9, -0.5, 0.2], [-1.0, 1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 0])
    cos.requires_grad_()
    loss = mg.am_softmax_loss(cos, y, margin=0.2, scale=1e4, reduction="none")
    ref = F.cross_entropy(
        1e4 * (cos - 0.2 * F.one_hot(y, 3).double()), y, reduction="none"
    )
    torch.testing.assert_close(loss, ref)
    assert loss[0].item() == pytest.approx(0.0, abs=1e-300)  # margin met by far
    assert loss[1].item() == pytest.approx(1e4 * 2.2, rel=1e-12)  # a hinge
    loss.sum().backward()
    assert torch.isfinite(cos.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_low_precision_against_float64(dtype):
    cos, y = _cos_batch(b=64, c=10, seed=4)
    ref = mg.am_softmax_loss(cos, y, margin=0.3, scale=30.0, reduction="none")
    got = mg.am_softmax_loss(cos.to(dtype), y, margin=0.3, scale=30.0, reduction="none")
    # rounding of the inputs: |d loss / d cos| <= 2 s, cos rounded to eps / 2
    eps = torch.finfo(dtype).eps
    assert got.dtype == dtype
    err = (got.double() - ref).abs().max().item()
    assert err <= 2 * 30.0 * eps + 4 * eps * ref.abs().max().item()


def test_am_softmax_gradcheck():
    cos, y = _cos_batch(b=4, c=3, seed=5)
    cos.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda c: mg.am_softmax_loss(c, y, margin=0.25, scale=3.0), (cos,)
    )


# ------------------------------------------------------------------------ metric
def _unit_angle(deg):
    a = math.radians(deg)
    return torch.tensor([math.cos(a), math.sin(a)], dtype=torch.float64)


def test_chord_is_sqrt_two_minus_two_cos():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(50, 5, generator=g), torch.randn(50, 5, generator=g)
    cos = F.cosine_similarity(x, y, dim=1)
    torch.testing.assert_close(mg.normalized_chord(x, y), (2 - 2 * cos).sqrt())


def test_chord_is_accurate_for_nearly_parallel_vectors():
    x = torch.tensor([1.0, 0.0], dtype=torch.float64)
    y = torch.tensor([1.0, 1e-9], dtype=torch.float64)  # angle 1e-9
    assert mg.normalized_chord(x, y).item() == pytest.approx(1e-9, rel=1e-6)
    cos = F.cosine_similarity(x, y, dim=0)
    assert (2 - 2 * cos).clamp_min(0).sqrt().item() == 0.0  # what cancellation gives


def test_constructed_triple_breaks_one_minus_cos_not_the_chord():
    x, z, y = _unit_angle(0), _unit_angle(60), _unit_angle(120)

    def one_minus_cos(a, b):
        return 1 - F.cosine_similarity(a, b, dim=0)

    assert one_minus_cos(x, y) > one_minus_cos(x, z) + one_minus_cos(z, y)
    assert mg.normalized_chord(x, y) <= mg.normalized_chord(x, z) + mg.normalized_chord(
        z, y
    )


_vec = st.lists(
    st.floats(-10, 10, allow_nan=False, allow_infinity=False), min_size=3, max_size=3
).filter(lambda v: sum(t * t for t in v) > 1e-6)


@settings(max_examples=200, deadline=None)
@given(_vec, _vec, _vec)
def test_chord_satisfies_the_triangle_inequality(a, b, c):
    x, y, z = (torch.tensor(v, dtype=torch.float64) for v in (a, b, c))
    d = mg.normalized_chord
    assert d(x, y) <= d(x, z) + d(z, y) + 1e-12
    assert d(x, y) == pytest.approx(d(y, x).item(), abs=1e-15)


def test_chord_broadcasts_and_rejects_zero_vectors():
    x = torch.randn(4, 1, 3)
    y = torch.randn(1, 5, 3)
    assert mg.normalized_chord(x, y).shape == (4, 5)
    with pytest.raises(ValueError, match="x holds a zero vector"):
        mg.normalized_chord(torch.zeros(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="broadcast"):
        mg.normalized_chord(torch.ones(2, 3), torch.ones(4, 3))


# --------------------------------------------------------------------- retrieval
def _blobs(n=60, c=4, d=5, seed=7, noise=0.9):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(c, d, generator=g, dtype=torch.float64)
    y = torch.arange(n) % c
    z = centres[y] + noise * torch.randn(n, d, generator=g, dtype=torch.float64)
    return z, y, centres


def test_recall_at_1_matches_sklearn_nearest_neighbors():
    z, y, _ = _blobs()
    nn = NearestNeighbors(n_neighbors=2, metric="cosine").fit(z.numpy())
    idx = nn.kneighbors(return_distance=False)[:, 0]  # query points excluded
    expected = float(np.mean(y.numpy()[idx] == y.numpy()))
    assert 0.3 < expected < 1.0  # the fixture is neither trivial nor hopeless
    assert mg.recall_at_1(z, y) == pytest.approx(expected, abs=1e-15)


def test_retrieval_metrics_against_brute_force_and_sklearn():
    z, y, centres = _blobs(n=40, seed=1)  # 4 right-wrong images, 2 of them strict
    out = mg.retrieval_metrics(z, y, centres)
    zn = F.normalize(z, dim=1).numpy()
    cn = F.normalize(centres, dim=1).numpy()
    yn = y.numpy()
    pred = (zn @ cn.T).argmax(1)
    assert out["accuracy"] == pytest.approx(np.mean(pred == yn))
    sims = zn @ zn.T
    aps, perfect, right_wrong, strict = [], [], [], []
    for i in range(len(zn)):
        others = [j for j in range(len(zn)) if j != i]
        rel = (yn[others] == yn[i]).astype(int)
        aps.append(average_precision_score(rel, sims[i, others]))
        same = [sims[i, j] for j in others if yn[j] == yn[i]]
        diff = [sims[i, j] for j in others if yn[j] != yn[i]]
        perfect.append(min(same) > max(diff))
        nn = others[int(np.argmax(sims[i, others]))]
        right_wrong.append(pred[i] == yn[i] and yn[nn] != yn[i])
        strict.append(right_wrong[-1] and pred[nn] == yn[nn])
    assert out["mAP"] == pytest.approx(np.mean(aps), abs=1e-12)
    assert out["perfect"] == pytest.approx(np.mean(perfect))
    assert out["right_wrong"] == pytest.approx(np.mean(right_wrong))
    assert out["right_wrong_strict"] == pytest.approx(np.mean(strict))
    assert 0 < sum(strict) < sum(right_wrong)  # the fixture tells them apart
    assert out["recall@1"] == pytest.approx(mg.recall_at_1(z, y))
    chord = mg.normalized_chord(z, centres[y])
    assert out["diameter"] == pytest.approx(2 * chord.mean().item(), abs=1e-12)


def test_misretrieved_matches_brute_force():
    z, y, centres = _blobs(n=40, seed=8)
    rows = mg.misretrieved(z, y, centres).tolist()
    zn, cn = F.normalize(z, dim=1), F.normalize(centres, dim=1)
    expected = []
    for i in range(len(z)):
        d = [(mg.normalized_chord(zn[i], zn[j]).item(), j) for j in range(len(z))]
        d = sorted(t for t in d if t[1] != i)
        right = int((cn @ zn[i]).argmax()) == int(y[i])
        if right and y[d[0][1]] != y[i]:
            z3 = next(j for _, j in d if y[j] == y[i])
            expected.append([i, d[0][1], z3])
    assert expected and rows == expected
    strict = mg.misretrieved(z, y, centres, z2_right=True).tolist()
    pred = (zn @ cn.T).argmax(1)
    assert strict == [r for r in expected if int(pred[r[1]]) == int(y[r[1]])]


def _brute_triples(z, y, centres, dist):
    out = dict(triples=0, meet=0, meet_misranked=0, misranked=0)
    n = len(z)
    for a, p, q in itertools.product(range(n), repeat=3):
        if p == a or y[p] != y[a] or y[q] == y[a]:
            continue
        radii = dist(z[p], centres[y[a]]) + dist(z[q], centres[y[q]])
        cond = dist(z[a], centres[y[a]]) + radii < dist(z[a], centres[y[q]])
        mis = dist(z[a], z[p]) >= dist(z[a], z[q])
        out["triples"] += 1
        out["meet"] += int(cond)
        out["meet_misranked"] += int(cond and mis)
        out["misranked"] += int(mis)
    return out


@pytest.mark.parametrize("metric", ["chord", "1-cos"])
def test_sufficient_condition_triples_by_enumeration(metric):
    z, y, centres = _blobs(n=14, c=3, d=2, seed=9, noise=0.4)
    zn, cn = F.normalize(z, dim=1), F.normalize(centres, dim=1)

    def dist(u, v):
        cos = float(u @ v)
        return math.sqrt(max(2 - 2 * cos, 0.0)) if metric == "chord" else 1 - cos

    expected = _brute_triples(zn, y.tolist(), cn, dist)
    got = mg.sufficient_condition_triples(z, y, centres, metric=metric)
    assert got == expected
    assert expected["meet"] > 0


def test_chord_condition_never_misranks_but_one_minus_cos_can():
    # on the circle: c1 at 0 deg, z1 at -60, z3 at +60; z2 = c2 at 50 deg. With 1-cos,
    # (margin-sufficient) holds for the anchor z1: 0.5 + 0.5 + 0 < 1 - cos(110 deg) =
    # 1.342, yet z1 is nearer z2 (110 deg) than z3 (120 deg)
    z = torch.stack([_unit_angle(-60), _unit_angle(60), _unit_angle(50)])
    y = torch.tensor([0, 0, 1])
    centres = torch.stack([_unit_angle(0), _unit_angle(50)])
    a = mg.sufficient_condition_triples(z, y, centres, metric="1-cos")
    b = mg.sufficient_condition_triples(z, y, centres, metric="chord")
    assert a["meet_misranked"] >= 1
    assert b["meet_misranked"] == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_chord_condition_implies_correct_ranking(seed):
    z, y, centres = _blobs(n=18, c=3, d=3, seed=seed, noise=0.5)
    out = mg.sufficient_condition_triples(z, y, centres, metric="chord")
    assert out["meet_misranked"] == 0


def test_anchor_subsample_is_seeded():
    z, y, centres = _blobs(n=30, c=3, seed=10)
    g = [torch.Generator().manual_seed(0) for _ in range(2)]
    a = mg.sufficient_condition_triples(z, y, centres, max_anchors=5, generator=g[0])
    b = mg.sufficient_condition_triples(z, y, centres, max_anchors=5, generator=g[1])
    full = mg.sufficient_condition_triples(z, y, centres)
    assert a == b and a["triples"] < full["triples"]


# ---------------------------------------------------------------------- training
def _tiny_data(n=80, seed=11):
    z, y, _ = _blobs(n=n, c=4, d=6, seed=seed, noise=0.5)
    return z.float(), y


def test_a_run_trained_in_a_batch_is_the_run_trained_alone():
    x, y = _tiny_data()
    kw = dict(steps=20, batch_size=16, hidden=8, dim=3, progress=False)
    many = mg.fit_margin_nets(x, y, margins=[0.0, 0.3], seeds=[0, 1], **kw)
    alone = mg.fit_margin_nets(x, y, margins=[0.3], seeds=[1], **kw)
    r = many.runs.index((0.3, 16.0, 1))
    torch.testing.assert_close(many.w1[r], alone.w1[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(many.centres[r], alone.centres[0], rtol=1e-5, atol=1e-6)
    # paired by seed: same start for both margins
    start = mg.fit_margin_nets(
        x, y, margins=[0.0, 0.3], seeds=[1], **{**kw, "lr": 1e-12}
    )
    torch.testing.assert_close(start.w1[0], start.w1[1])


def test_training_learns_the_blobs_and_margin_shrinks_the_classes():
    x, y = _tiny_data(n=200)
    nets = mg.fit_margin_nets(
        x,
        y,
        margins=[0.0, 0.5],
        seeds=[0],
        steps=150,
        hidden=16,
        dim=4,
        progress=False,
    )
    z, c = nets.embed(x), nets.unit_centres()
    assert z.shape == (2, 200, 4) and c.shape == (2, 4, 4)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(2, 200))
    m0, m5 = (mg.retrieval_metrics(z[r], y, c[r]) for r in range(2))
    assert m0["accuracy"] > 0.9 and m5["accuracy"] > 0.9
    assert m5["diameter"] < m0["diameter"]


def test_paired_differences_match_the_paired_t_test():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, 6)) + np.array([[0.0], [0.1], [3.0]])
    out = mg.paired_differences(v, bar=3.0)
    assert out[0] == (0.0, 0.0, "baseline")
    for k in (1, 2):
        t = stats.ttest_rel(v[k], v[0]).statistic
        assert out[k][0] / out[k][1] == pytest.approx(t)
    assert out[2][2] == "up"
    assert mg.paired_differences(-v)[2][2] == "down"
    assert mg.paired_differences(v, bar=1e6)[2][2] == "unresolved"


@pytest.mark.parametrize(
    "call",
    [
        lambda: mg.am_softmax_loss(torch.rand(3, 4), torch.tensor([0, 1, 4])),
        lambda: mg.am_softmax_loss(torch.rand(3, 4), torch.tensor([0.0, 1, 2])),
        lambda: mg.am_softmax_loss(torch.rand(3, 1), torch.tensor([0, 0, 0])),
        lambda: mg.am_softmax_loss(torch.rand(3, 4), torch.tensor([0, 1])),
        lambda: mg.margin_ce_from_distance(
            torch.rand(2, 3), torch.tensor([0, 1]), margin=0.1, scale=0.0
        ),
        lambda: mg.recall_at_1(torch.rand(1, 3), torch.tensor([0])),
        lambda: mg.retrieval_metrics(
            torch.rand(3, 2), torch.tensor([0, 0, 1]), torch.rand(2, 2)
        ),
        lambda: mg.fit_margin_nets(
            torch.rand(4, 2), torch.tensor([0, 1, 0, 1]), margins=[], seeds=[0]
        ),
        lambda: mg.fit_margin_nets(
            torch.rand(4, 2), torch.tensor([0, 1, 0, 1]), margins=[0.1], seeds=[0, 0]
        ),
        lambda: mg.paired_differences([[1.0, 2.0]], baseline=1),
    ],
)
def test_bad_input_raises_naming_the_argument(call):
    with pytest.raises((ValueError, TypeError)):
        call()
