"""kexue.nn.cache.fit_or_load: train once, load after; the key separates configs."""

import pytest
import torch
from kexue import nn
from kexue.nn.cache import cache_dir, cache_key, fit_or_load


def _fit(calls):
    def fit(model):
        calls.append(1)
        x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
        loss = lambda m, b, g: (m(b, torch.zeros(len(b))) - b).pow(2).mean()  # noqa: E731
        return nn.train(model, loss, x, steps=5, batch_size=16, lr=1e-2, progress=False)

    return fit


def _model():
    torch.manual_seed(1)
    return nn.TimeMLP(dim=2, hidden=8, depth=1)


def test_second_call_loads_the_same_network(tmp_path):
    calls = []
    a, b = _model(), _model()
    h1 = fit_or_load("toy", a, _fit(calls), {"steps": 5}, directory=tmp_path)
    h2 = fit_or_load("toy", b, _fit(calls), {"steps": 5}, directory=tmp_path)
    assert calls == [1], "the second call must load, not train"
    assert h1 == h2 and len(h1) == 5
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not b.training
    assert [p.name for p in tmp_path.iterdir()] == [
        f"toy-{cache_key('toy', {'steps': 5}, a)}.pt"
    ]


def test_loaded_equals_freshly_trained(tmp_path):
    """Training is seeded: what is loaded is bit-for-bit what training gives."""
    fresh, cached = _model(), _model()
    _fit([])(fresh)
    fit_or_load("toy", _model(), _fit([]), {"k": 1}, directory=tmp_path)
    fit_or_load("toy", cached, _fit([]), {"k": 1}, directory=tmp_path)
    for pa, pb in zip(fresh.parameters(), cached.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_key_separates_config_and_architecture(tmp_path):
    calls = []
    fit_or_load("toy", _model(), _fit(calls), {"k": 1}, directory=tmp_path)
    fit_or_load("toy", _model(), _fit(calls), {"k": 2}, directory=tmp_path)
    wider = nn.TimeMLP(dim=2, hidden=9, depth=1)
    fit_or_load("toy", wider, _fit(calls), {"k": 1}, directory=tmp_path)
    assert len(calls) == 3


def test_corrupt_file_is_retrained(tmp_path):
    calls = []
    m = _model()
    path = tmp_path / f"toy-{cache_key('toy', {}, m)}.pt"
    path.write_bytes(b"not a torch file")
    fit_or_load("toy", m, _fit(calls), {}, directory=tmp_path)
    assert calls == [1]
    fit_or_load("toy", _model(), _fit(calls), {}, directory=tmp_path)
    assert calls == [1]


def test_cache_off_always_trains(tmp_path, monkeypatch):
    monkeypatch.setenv("KEXUE_CACHE", "off")
    calls = []
    for _ in range(2):
        fit_or_load("toy", _model(), _fit(calls), {}, directory=tmp_path)
    assert calls == [1, 1] and not any(tmp_path.iterdir())


def test_cache_dir_env_and_book_root(tmp_path, monkeypatch):
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KEXUE_CACHE_DIR")
    (tmp_path / "_config.yml").write_text("")
    (tmp_path / "_toc.yml").write_text("")
    (tmp_path / "chapters" / "part").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "chapters" / "part")
    assert cache_dir() == tmp_path.resolve() / "_build" / "kexue-cache"


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(name="a/b"), ValueError, "name"),
        (dict(name=""), ValueError, "name"),
        (dict(name=3), ValueError, "name"),
        (dict(config=[1]), TypeError, "config"),
        (dict(config={"f": object()}), TypeError, "config"),
        (dict(model="net"), TypeError, "model"),
        (dict(fit=None), TypeError, "fit"),
    ],
)
def test_bad_input(tmp_path, kwargs, exc, word):
    args = dict(name="toy", model=_model(), fit=_fit([]), config={})
    args.update(kwargs)
    with pytest.raises(exc, match=word):
        fit_or_load(directory=tmp_path, **args)


def test_fit_must_return_history(tmp_path):
    with pytest.raises(TypeError, match="fit"):
        fit_or_load("toy", _model(), lambda m: None, {}, directory=tmp_path)


def test_moons_eps_shared_and_seeded(tmp_path, monkeypatch):
    """The ddim/sde network: built from a seeded init whatever the global RNG state,
    so the chapter that loads it gets what it would have trained itself."""
    import kexue.diffusion as kd

    cfg = dict(n_train=64, train_steps=3, batch=16, hidden=8, depth=1, lr=1e-3)
    monkeypatch.setenv("KEXUE_CACHE", "off")
    torch.manual_seed(123)
    a, ha = kd.pretrained.moons_eps(cfg)
    torch.manual_seed(456)
    b, hb = kd.pretrained.moons_eps(cfg)
    assert ha == hb
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    monkeypatch.setenv("KEXUE_CACHE", "on")
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(tmp_path))
    c, hc = kd.pretrained.moons_eps(cfg)
    d, hd = kd.pretrained.moons_eps(cfg)
    assert ha == hc == hd and len(list(tmp_path.glob("moons-eps-*.pt"))) == 1
    with pytest.raises(ValueError, match="cfg"):
        kd.pretrained.moons_eps({"n_train": 3})
