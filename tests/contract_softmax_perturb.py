"""Bad-input contract of softmax.perturb (perturb-and-max, chapter reparam-discrete)."""

import torch
from contract import Call
from kexue.softmax import perturb as pm

_MU = torch.tensor([0.5, -0.2, 1.0], dtype=torch.float64)
_NOISE = "choice:" + "|".join(pm.NOISES)
_RULE = "choice:" + "|".join(pm.RULES)
_MU_BAD = [torch.tensor(1.0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)]


def _mu():
    return _MU.clone()


CALLS = [
    Call(pm.noise_dist, lambda: dict(noise="normal"), {"noise": _NOISE}),
    Call(pm.noise_log_cdf, lambda: dict(noise="normal"), {"noise": _NOISE}),
    Call(pm.noise_cdf, lambda: dict(noise="cauchy"), {"noise": _NOISE}),
    Call(
        pm.noise_ppf_nodes,
        lambda: dict(noise="logistic", n_nodes=8, rule="post"),
        {"noise": _NOISE, "n_nodes": "int>=1", "rule": _RULE},
    ),
    Call(
        pm.quantile_integrand,
        lambda: dict(mu=_mu(), noise="normal", t=[0.0, 0.25, 1.0], scale=1.5),
        {"mu": "finite", "noise": _NOISE, "t": "object", "scale": "float>0"},
        bad={
            "mu": _MU_BAD,
            "t": [None, "x", [[0.5]], [], [0.5, 1.5], [-0.1], [float("nan")]],
        },
    ),
    Call(
        pm.perturb_max_probs,
        lambda: dict(
            mu=_mu(),
            noise="normal",
            n_nodes=8,
            rule="midpoint",
            scale=1.5,
            dim=-1,
            renormalize=True,
        ),
        {
            "mu": "finite",
            "noise": _NOISE,
            "n_nodes": "int>=1",
            "rule": _RULE,
            "scale": "float>0",
            "dim": "int>=-1",
            "renormalize": "bool",
        },
        bad={"mu": _MU_BAD, "dim": [1]},
    ),
    Call(
        pm.perturb_max_error,
        lambda: dict(mu=_mu(), noise="gumbel", n_nodes=8, rule="post", scale=1.0),
        {
            "mu": "finite",
            "noise": _NOISE,
            "n_nodes": "int>=1",
            "rule": _RULE,
            "scale": "float>0",
        },
        bad={"mu": _MU_BAD},
    ),
    Call(
        pm.post_rule_error,
        lambda: dict(p=torch.tensor([0.2, 0.8], dtype=torch.float64), n_nodes=10),
        {"p": "finite", "n_nodes": "int>=1"},
        bad={"p": [torch.tensor([0.0, 1.0], dtype=torch.float64)]},
    ),
    Call(
        pm.perturb_max_probs_quad,
        lambda: dict(mu=[0.5, -0.2], noise="laplace", scale=1.0),
        {"mu": "object", "noise": _NOISE, "scale": "float>0"},
        bad={"mu": [None, "x", [[1.0, 2.0]], [], [1.0, float("nan")]]},
    ),
    Call(
        pm.sample_noise,
        lambda: dict(noise="gumbel", shape=(3,), generator=None, dtype=torch.float64),
        {
            "noise": _NOISE,
            "shape": "object",
            "generator": "generator|None",
            "dtype": "object",
        },
        bad={"shape": [3, (-1,), ("a",), None], "dtype": [torch.int64, "float"]},
    ),
    Call(
        pm.perturb_max_sample,
        lambda: dict(mu=_mu(), noise="cauchy", n_samples=10, scale=1.0, generator=None),
        {
            "mu": "finite",
            "noise": _NOISE,
            "n_samples": "int>=1",
            "scale": "float>0",
            "generator": "generator|None",
        },
        bad={"mu": _MU_BAD},
    ),
    Call(
        pm.perturb_softmax,
        lambda: dict(
            mu=_mu(), noise="gumbel", tau=0.5, hard=True, scale=1.0, generator=None
        ),
        {
            "mu": "finite",
            "noise": _NOISE,
            "tau": "float>0",
            "hard": "bool",
            "scale": "float>0",
            "generator": "generator|None",
        },
        bad={"mu": _MU_BAD},
    ),
    Call(
        pm.softmax_gap,
        lambda: dict(mu=_mu(), noise="logistic", scale=1.0, n_nodes=8),
        {"mu": "finite", "noise": _NOISE, "scale": "float>0", "n_nodes": "int>=1"},
    ),
    Call(
        pm.best_softmax_scale,
        lambda: dict(mu=_mu()[None], noise="normal", n_nodes=8, bounds=(0.5, 2.0)),
        {"mu": "finite", "noise": _NOISE, "n_nodes": "int>=1", "bounds": "object"},
        bad={
            "bounds": [None, (1.0,), (0.0, 1.0), (2.0, 1.0), ("a", 1.0)],
            "mu": _MU_BAD,
        },
    ),
    Call(
        pm.gumbel_min_probs,
        lambda: dict(mu=_mu(), dim=-1),
        {"mu": "finite", "dim": "int>=-1"},
        bad={"mu": _MU_BAD + [torch.zeros(13, dtype=torch.float64)], "dim": [1]},
    ),
]

EXEMPT = {
    "kexue.softmax.perturb.NOISES": "a constant tuple of names",
    "kexue.softmax.perturb.RULES": "a constant tuple of names",
}
