"""Mirror obstruction of the position probe (chapter attention/relative-position-flaw):
``probe.mirror_gap``, ``probe.row_gap`` and ``probe.class_probabilities``."""

import math

import kexue.attention.probe as probe
import pytest
import torch

SMALL = dict(n=6, d_model=8, n_heads=2, n_layers=1, steps=3)


def _run(**kw):
    return probe.run_position_probe(probe.ProbeConfig(**SMALL, **kw), progress=False)


@pytest.mark.parametrize("norm", ["softmax", "l2", "exp_mean"])
def test_symmetric_alibi_is_mirror_symmetric_in_float64(norm):
    # J A J = A for the symmetric bias -m|i-j|: exact up to float64 round-off
    assert probe.mirror_gap(_run(position="alibi", normalization=norm)) < 1e-9


def test_same_markers_keep_the_mirror_symmetry_but_cls_sep_break_it():
    same = _run(position="alibi", markers=True, same_markers=True)
    assert probe.mirror_gap(same) < 1e-9
    assert probe.mirror_gap(_run(position="alibi", markers=True)) > 1e-4


@pytest.mark.parametrize(
    "kw", [dict(position="rope", normalization="l2"), dict(position="learned")]
)
def test_asymmetric_encodings_have_a_gap(kw):
    # the rival: a check that passed these would not be evidence of a symmetry
    # (plain RoPE/softmax is no rival: its rows are all identical, gap 0)
    assert probe.mirror_gap(_run(**kw)) > 1e-4


def test_class_probabilities_are_rows_of_a_distribution():
    r = _run(position="rope")
    p = probe.class_probabilities(r)
    assert p.shape == (6, 6) and p.dtype == torch.float64
    torch.testing.assert_close(p.sum(-1), torch.ones(6, dtype=torch.float64))
    # agrees with the float32 argmax of the result (no ties for a RoPE model)
    assert torch.equal(p.argmax(-1), r.predictions)


def test_failing_arm_gives_identical_rows_and_uniform_after_training():
    p = probe.class_probabilities(_run(position="t5"))
    assert float((p - p[:1]).abs().max()) < 1e-12  # identical rows, any training
    cfg = dict(SMALL, steps=300)
    r = probe.run_position_probe(probe.ProbeConfig(**cfg), progress=False)
    p = probe.class_probabilities(r)  # RoPE: trained to the best it can, 1/n
    assert abs(r.loss - math.log(6)) < 1e-3
    torch.testing.assert_close(
        p, torch.full((6, 6), 1 / 6, dtype=torch.float64), atol=1e-3, rtol=0
    )


def test_same_markers_batch_and_bad_input():
    t, y = probe.position_probe_batch(3, markers=True, same_markers=True)
    assert t.tolist() == [[1, 0, 0, 0, 1]] and y.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="same_markers"):
        probe.position_probe_batch(3, same_markers=True)
    with pytest.raises(ValueError, match="same_markers"):
        probe.ProbeConfig(same_markers=True)
    with pytest.raises(TypeError, match="result"):
        probe.mirror_gap(None)


@pytest.mark.parametrize("position", ["rope", "t5", "alibi"])
def test_relative_softmax_rows_are_identical_in_float64(position):
    # eq. rpf-identical: exact up to float64 round-off, and rows_identical agrees
    r = _run(position=position)
    assert probe.row_gap(r) < probe.SYMMETRY_TOL and r.rows_identical


@pytest.mark.parametrize(
    "kw",
    [
        dict(position="learned"),
        dict(position="rope", normalization="l2"),
        dict(position="rope", markers=True),
    ],
)
def test_rival_arms_have_distinct_rows(kw):
    # the rival: absolute positions, l2 rows and markers break rpf-identical
    r = _run(**kw)
    assert probe.row_gap(r) > 1e-4 and not r.rows_identical


def test_row_gap_bad_input():
    with pytest.raises(TypeError, match="result"):
        probe.row_gap(probe.ProbeConfig())
