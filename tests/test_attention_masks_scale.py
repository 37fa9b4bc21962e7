"""kexue.attention masks and scale rules: closed forms, peers (scikit-learn,
torch.distributions), errors.
"""

import itertools
import math

import kexue.attention as ka
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st


def test_causal_mask_alignments():
    assert torch.equal(ka.causal_mask(4), torch.ones(4, 4, dtype=torch.bool).tril())
    assert torch.equal(ka.causal_mask(2, 5), torch.ones(2, 5, dtype=torch.bool).tril(3))
    assert torch.equal(
        ka.causal_mask(2, 5, align="top_left"),
        torch.ones(2, 5, dtype=torch.bool).tril(),
    )
    assert not ka.causal_mask(4, 2)[
        :2
    ].any()  # more queries than keys: first rows see nothing


def test_prefix_mask_is_the_block_matrix_and_counts_pairs():
    for n in range(2, 9):
        for s in range(1, n):
            m = ka.prefix_lm_mask_from_lengths(s, n)
            t = n - s
            block = torch.zeros(n, n, dtype=torch.bool)
            block[:, :s] = True
            block[s:, s:] = torch.ones(t, t, dtype=torch.bool).tril()
            assert torch.equal(m, block)
            assert int(m.sum()) == s * s + t * s + t * (t + 1) // 2


def test_prefix_mask_batched_segment_ids():
    seg = torch.tensor([[0, 0, 1, 1, 1], [0, 0, 0, 0, 1]])
    m = ka.prefix_lm_mask(seg)
    assert m.shape == (2, 5, 5)
    assert torch.equal(m[1], ka.prefix_lm_mask_from_lengths(4, 5))


def test_permutation_mask_is_p_transpose_l_p_for_all_orders():
    n = 4
    L = torch.ones(n, n).tril()
    for z in itertools.permutations(range(n)):
        P = torch.zeros(n, n)
        P[torch.arange(n), torch.tensor(z)] = 1
        assert torch.equal(ka.permutation_mask(torch.tensor(z)), (P.T @ L @ P).bool())
    z = torch.tensor([2, 0, 3, 1])
    assert torch.equal(
        ka.permutation_mask(z, include_self=False),
        ka.permutation_mask(z) & ~torch.eye(n, dtype=torch.bool),
    )


def test_padding_mask_and_helpers():
    m = ka.padding_mask([3, 1], 4)
    assert m.shape == (2, 1, 1, 4) and m.sum().item() == 4
    assert torch.equal(ka.to_torch_mha_mask(ka.causal_mask(3)), ~ka.causal_mask(3))
    b = ka.mask_to_bias(ka.causal_mask(3))
    assert torch.all(b[ka.causal_mask(3)] == 0) and torch.all(
        torch.isinf(b[~ka.causal_mask(3)])
    )
    assert torch.equal(
        ka.combine_masks(None, ka.causal_mask(3), ka.full_mask(3)), ka.causal_mask(3)
    )
    assert torch.equal(
        ka.visible_keys(ka.causal_mask(3)).squeeze(-1), torch.tensor([1.0, 2.0, 3.0])
    )


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (lambda: ka.causal_mask(0), ValueError, "n_q"),
        (lambda: ka.causal_mask(3, align="middle"), ValueError, "align"),
        (lambda: ka.padding_mask([5], 4), ValueError, "lengths"),
        (lambda: ka.padding_mask([1.5], 4), TypeError, "lengths"),
        (lambda: ka.prefix_lm_mask(torch.tensor([0, 2, 1])), ValueError, "segment_ids"),
        (lambda: ka.prefix_lm_mask(torch.tensor([0.0, 1.0])), TypeError, "segment_ids"),
        (
            lambda: ka.permutation_mask(torch.tensor([0, 0, 1])),
            ValueError,
            "permutation",
        ),
        (lambda: ka.combine_masks(torch.ones(2, 2)), TypeError, "masks"),
        (lambda: ka.mask_to_bias(torch.ones(2, 2)), TypeError, "mask"),
        (lambda: ka.per_query_scale(torch.ones(2, 2), 4), TypeError, "mask"),
        (
            lambda: ka.per_query_scale(ka.causal_mask(2), 4, rule="sqrt"),
            ValueError,
            "rule",
        ),
        (lambda: ka.entropy_invariant_scale(0.5, 8), ValueError, "n must be >= 1"),
        (lambda: ka.entropy_invariant_scale(100, 0), ValueError, "d must be >= 1"),
        (lambda: ka.kappa_log_scale(100, 8, kappa=-1.0), ValueError, "kappa"),
        (
            lambda: ka.solve_scale_for_entropy(torch.randn(3, 8), 3.0),
            ValueError,
            "target",
        ),
        (
            lambda: ka.solve_scale_for_entropy(torch.ones(3, 8), 1.0),
            ValueError,
            "equal values",
        ),
        (lambda: ka.jl_min_dim(100, 1.5), ValueError, "eps"),
    ],
)
def test_mask_and_scale_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_scale_rules():
    assert ka.standard_scale(64) == 0.125
    assert math.isclose(ka.entropy_invariant_scale(512, 64), 0.125)
    assert math.isclose(ka.jl_scale_factor(4096), math.log(4096, 512))
    assert math.isclose(ka.jl_scale_factor(100, train_len=64), math.log(100, 64))
    for n in [2, 100, 512, 10_000]:
        assert math.isclose(
            ka.entropy_invariant_scale(n, 32), ka.jl_scale_factor(n) / math.sqrt(32)
        )
        assert math.isclose(
            ka.kappa_log_scale(n, 32, kappa=math.sqrt(32) / math.log(512)),
            ka.entropy_invariant_scale(n, 32),
        )
    s = ka.per_query_scale(ka.causal_mask(600), 16)
    assert s.shape == (600, 1) and torch.all(s[1:] >= s[:-1])
    assert math.isclose(float(s[511]), 0.25, rel_tol=1e-6)  # row 511 sees 512 keys


def test_per_query_scale_kappa_rule_matches_kappa_log_scale():
    m = ka.causal_mask(40)
    s = ka.per_query_scale(m, 16, rule="kappa", kappa=4.0)
    n = torch.arange(1, 41, dtype=s.dtype)[:, None]
    torch.testing.assert_close(s[1:], ka.kappa_log_scale(n[1:], 16, 4.0))
    assert math.isclose(
        float(s[0]), 1e-3 / 16, rel_tol=1e-6
    )  # one visible key: the floor
    with pytest.raises(ValueError, match="kappa"):
        ka.per_query_scale(m, 16, rule="kappa")


def test_softmax_entropy_matches_torch_distributions():
    x = torch.randn(5, 9, dtype=torch.float64)
    torch.testing.assert_close(
        ka.softmax_entropy(x), torch.distributions.Categorical(logits=x).entropy()
    )
    m = torch.ones(5, 9, dtype=torch.bool)
    m[:, 4:] = False
    torch.testing.assert_close(
        ka.softmax_entropy(x, mask=m), ka.softmax_entropy(x[:, :4])
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=30), st.floats(0, 20))
def test_entropy_is_bounded_below_by_the_post_approximation(scores, lam):
    s = torch.tensor(scores, dtype=torch.float64)
    assert (
        float(ka.softmax_entropy(lam * s))
        >= float(ka.entropy_lower_bound(s, lam)) - 1e-9
    )


def test_solve_scale_for_entropy_hits_target():
    s = torch.randn(
        4, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    lam = ka.solve_scale_for_entropy(s, 2.0)
    torch.testing.assert_close(
        ka.softmax_entropy(lam[:, None] * s),
        torch.full((4,), 2.0, dtype=torch.float64),
        atol=1e-8,
        rtol=0,
    )


@pytest.mark.parametrize("n", [10, 512, 10**5, 10**7])
@pytest.mark.parametrize("eps", [0.1, 0.3, 0.5, 0.9])
def test_jl_min_dim_matches_sklearn(n, eps):
    from sklearn.random_projection import johnson_lindenstrauss_min_dim

    assert ka.jl_min_dim(n, eps) == int(johnson_lindenstrauss_min_dim(n, eps=eps))


def test_permutation_lm_inputs():
    x = torch.tensor([[5, 6, 7, 8], [1, 2, 3, 4]])
    z = torch.tensor([2, 0, 3, 1])
    d = ka.permutation_lm_inputs(x, z, bos_id=9)
    assert d["inputs"].tolist() == [[9, 7, 5, 8], [9, 3, 1, 4]]
    assert d["positions"].tolist() == [[4, 2, 0, 3]] * 2
    assert d["target_positions"].tolist() == [[2, 0, 3, 1]] * 2
    assert d["targets"].tolist() == [[7, 5, 8, 6], [3, 1, 4, 2]]
    per_row = ka.permutation_lm_inputs(x, torch.stack([z, torch.arange(4)]), bos_id=9)
    assert per_row["targets"][1].tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="permutation"):
        ka.permutation_lm_inputs(x, torch.tensor([0, 0, 1, 2]), bos_id=9)
    with pytest.raises(TypeError, match="tokens"):
        ka.permutation_lm_inputs(x.float(), z, bos_id=9)
