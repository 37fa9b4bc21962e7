"""Every tensor kexue.attention / kexue.nn creates follows its input's device and dtype:
run on the ``meta`` device (no values, so a CPU-only machine catches a tensor made on
the wrong device, which would raise "expected device meta"), and in float64 on CPU."""

import kexue.attention as ka
import pytest
import torch
from kexue import nn

META = torch.device("meta")


def _calls(dev, dt):
    def t(*s):
        return torch.ones(*s, device=dev, dtype=dt) * 0.1

    def ids(*s):
        return torch.zeros(*s, device=dev, dtype=torch.long)

    pf = ka.PerformerFeatures(8, 16).to(dev, dt)
    mha = ka.MultiHeadAttention(8, 2, rotary=True, toeplitz_gate=2).to(dev, dt)
    tf = nn.Transformer(
        nn.TransformerConfig(vocab_size=5, d_model=8, n_heads=2, max_len=6)
    ).to(dev, dt)
    return {
        "attention sdpa causal": lambda: ka.attention(
            t(1, 2, 4, 8), t(1, 1, 5, 8), t(1, 1, 5, 3), is_causal=True
        ),
        "attention math weights": lambda: ka.attention(
            t(1, 2, 4, 8),
            t(1, 2, 5, 8),
            t(1, 2, 5, 3),
            is_causal=True,
            return_weights=True,
            normalization="l2",
        )[1],
        "attention bias mask scale": lambda: ka.attention(
            t(1, 2, 4, 8),
            t(1, 2, 5, 8),
            t(1, 2, 5, 3),
            bias=t(4, 5),
            mask=ka.causal_mask(4, 5, device=dev),
            scale=t(4, 1),
        ),
        "attention_weights": lambda: ka.attention_weights(t(2, 4, 8), t(2, 5, 8)),
        "linear causal": lambda: ka.linear_attention(
            t(2, 6, 4), t(2, 6, 4), t(2, 6, 3), ka.elu_plus_one, causal=True
        ),
        "performer": lambda: ka.linear_attention(
            t(2, 6, 8), t(2, 6, 8), t(2, 6, 3), pf
        ),
        "kernel": lambda: ka.kernel_attention(
            t(6, 4),
            t(5, 4),
            t(5, 3),
            ka.exp_kernel,
            mask=ka.causal_mask(6, 5, device=dev),
        ),
        "taylor symmetric": lambda: ka.taylor_features(t(3, 2), 3, symmetric=True),
        "exp limit": lambda: ka.exp_limit_features(t(3, 2), 2),
        "rope": lambda: ka.apply_rotary(t(2, 5, 6)),
        "rope positions": lambda: ka.apply_rotary(t(2, 5, 6), ids(2, 5)),
        "mha": lambda: mha(t(2, 4, 8), is_causal=True, positions=ids(4)),
        "transformer": lambda: tf(ids(2, 4), is_causal=True),
        "softmax_entropy": lambda: ka.softmax_entropy(t(3, 5)),
        "time mlp": lambda: nn.TimeMLP(dim=2, hidden=8).to(dev, dt)(t(3, 2), t(3)),
    }


NAMES = list(_calls("cpu", torch.float64))


@pytest.mark.parametrize("name", NAMES)
def test_runs_on_the_meta_device(name):
    out = _calls(META, torch.float32)[name]()
    assert out.device.type == "meta"


@pytest.mark.parametrize("name", NAMES)
def test_keeps_float64(name):
    out = _calls("cpu", torch.float64)[name]()
    assert out.dtype == torch.float64 and out.device.type == "cpu"
