"""kexue.device: the CPU/GPU switch, presets, seeding."""

import pytest
import torch
from kexue import device


def test_scale_follows_cuda_and_env(monkeypatch):
    monkeypatch.delenv("KEXUE_SCALE", raising=False)
    assert device.scale() == ("gpu" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("KEXUE_SCALE", "gpu")
    assert (
        device.scale() == "gpu"
        and device.preset("ddim") == device.PRESETS["ddim"]["gpu"]
    )
    monkeypatch.setenv("KEXUE_SCALE", "tpu")
    with pytest.raises(ValueError, match="KEXUE_SCALE"):
        device.scale()


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert device.get_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert device.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.get_device() == torch.device("cuda")


def test_cpu_preset_is_smaller():
    cpu, gpu = device.preset("ddim", "cpu"), device.preset("ddim", "gpu")
    assert cpu.keys() == gpu.keys() and cpu["train_steps"] < gpu["train_steps"]


def test_seed_all_repeats():
    device.seed_all(3)
    a = torch.randn(3)
    device.seed_all(3)
    assert torch.equal(a, torch.randn(3))


def test_setup_returns_a_device(capsys):
    d = device.setup(seed=1)
    assert isinstance(d, torch.device) and "kexue: device=" in capsys.readouterr().out


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: device.preset("nope"), ValueError),
        (lambda: device.preset("ddim", "tpu"), ValueError),
        (lambda: device.seed_all(1.5), TypeError),
        (lambda: device.seed_all(-1), ValueError),
        (lambda: device.set_threads(0), ValueError),
        (lambda: device.set_threads(2.0), TypeError),
        (lambda: device.setup(threads=0), ValueError),
        (lambda: device.setup(verbose="no"), TypeError),
    ],
)
def test_errors(call, exc):
    with pytest.raises(exc):
        call()


@pytest.mark.parametrize("chapter", sorted(device.PRESETS))
def test_every_preset_has_the_same_sizes_at_both_scales(chapter):
    """A chapter reads the same keys on a GPU as on the CPU (the GPU path cannot fail on
    a missing size)."""
    cpu, gpu = device.preset(chapter, "cpu"), device.preset(chapter, "gpu")
    assert cpu.keys() == gpu.keys()
    assert all(type(cpu[k]) is type(gpu[k]) for k in cpu), {
        k: (cpu[k], gpu[k]) for k in cpu if type(cpu[k]) is not type(gpu[k])
    }
