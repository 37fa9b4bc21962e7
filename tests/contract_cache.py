"""Bad-input registry for kexue.nn.cache and kexue.diffusion.pretrained (ddim/sde)."""

import tempfile

import kexue.diffusion as kd
from contract import Call
from kexue.nn import TimeMLP
from kexue.nn.cache import cache_key, fit_or_load

_TINY = dict(n_train=16, train_steps=1, batch=4, hidden=4, depth=1, lr=1e-3)
_BAD = {"name": ["a/b", "", 3], "config": [[1], {"f": object()}], "model": ["net"]}


def _fol():
    return dict(
        name="contract-toy",
        model=TimeMLP(dim=2, hidden=4, depth=1),
        fit=lambda m: [0.0],
        config={"k": 1},
        directory=tempfile.mkdtemp(),
    )


def _key():
    return dict(name="toy", config={}, model=TimeMLP(dim=2, hidden=4, depth=1))


CALLS = [
    Call(
        fit_or_load,
        _fol,
        {"fit": "callable", "name": "object", "config": "object", "model": "object"},
        bad=_BAD,
    ),
    Call(
        cache_key,
        _key,
        {"name": "object", "config": "object", "model": "object"},
        bad=_BAD,
    ),
    Call(
        kd.pretrained.moons_eps,
        lambda: dict(cfg=dict(_TINY)),
        {"cfg": "object"},
        bad={"cfg": [[1], {"n_train": 3}]},
    ),
]
EXEMPT = {
    "kexue.nn.cache.cache_dir": "takes no arguments",
    "kexue.diffusion.pretrained.MOONS_KEYS": "a constant tuple of preset keys",
}
