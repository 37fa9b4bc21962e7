"""Trained networks shared by several chapters, trained once through kexue.nn.cache.

:func:`moons_eps` is the two-moons noise predictor of the ddim and sde chapters: the
same network, initialisation, data, schedule and training in both, so the second chapter
executed loads what the first one trained (the key covers every preset value used).
"""

from __future__ import annotations

import torch

from ..nn.cache import fit_or_load
from ..nn.time_mlp import TimeMLP
from ..nn.train import train
from .continuous import VPSchedule, discrete_from_continuous
from .losses import dsm_loss

__all__ = ["moons_eps", "MOONS_KEYS"]

MOONS_KEYS = ("n_train", "train_steps", "batch", "hidden", "depth", "lr")


def moons_eps(cfg: dict, device=None) -> tuple[torch.nn.Module, list[float]]:
    """The shared two-moons eps-model ``TimeMLP(2, hidden, depth)`` and its losses.

    Trained with ``dsm_loss`` (ddim eq. ddim-x0hat, sde eq. sde-dsm) on the chain
    ``signal[i] = exp(-5 (i/T)^2)``, ``T = 1000`` (ddim eq. ddim-su-approx), i.e.
    ``DiscreteSchedule.from_continuous(VPSchedule.su_quadratic(), 1000)``: the model
    sees ``t = i/T``, so the continuous ``VPSchedule.su_quadratic()`` samples it too.
    Data: ``kexue.data.moons(n_train, seed=0)``; initialisation seeded with 0 (global
    RNG is left untouched). ``cfg``: a preset (``kexue.device.preset``) with the keys in
    ``MOONS_KEYS``. Returns the model on ``device``, in eval mode.
    """
    from ..data.toy import moons

    if not isinstance(cfg, dict):
        raise TypeError(f"cfg must be a preset dict, got {type(cfg).__name__}")
    missing = [k for k in MOONS_KEYS if k not in cfg]
    if missing:
        raise ValueError(f"cfg must have the keys {MOONS_KEYS}; missing {missing}")
    sched = discrete_from_continuous(VPSchedule.su_quadratic(), 1000)
    x_train = moons(cfg["n_train"], seed=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = TimeMLP(dim=2, hidden=cfg["hidden"], depth=cfg["depth"])
    if device is not None:
        model = model.to(device)

    def fit(m):
        return train(
            m,
            lambda net, batch, gen: dsm_loss(net, batch, sched, generator=gen),
            x_train,
            steps=cfg["train_steps"],
            batch_size=cfg["batch"],
            lr=cfg["lr"],
            desc="eps-model (moons)",
        )

    config = {k: cfg[k] for k in MOONS_KEYS} | {
        "schedule": "exp(-5 s^2), T=1000",
        "data": "moons: independent draws, population-standardised",
    }
    history = fit_or_load("moons-eps", model, fit, config)
    model.eval()
    return model, history
