"""The position probe of post 9105 (chapter *attention/relative-position-flaw*).

The probe feeds ``n`` identical tokens and asks for their positions ``0..n-1``. A
relative encoding that only changes the logits leaves each softmax row a probability
vector, so identical values give identical outputs (eq. ``rpf-identical``) and the
probe is impossible; the remedies (other normalisations, marker tokens, a Toeplitz
gate) are options of :class:`ProbeConfig`.

Layering: this module sits above :mod:`kexue.nn` (it trains a
:class:`kexue.nn.Transformer` with :func:`kexue.nn.train`), which sits above the pure
attention modules. It is therefore not imported by ``kexue.attention`` itself:
``from kexue.attention import probe``.
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from ..nn.train import train
from ..nn.transformer import Transformer, TransformerConfig
from ._checks import check_bool, check_choice, check_int, check_positive
from .core import NORMALIZATIONS
from .position import POSITIONS

__all__ = [
    "ProbeConfig",
    "ProbeResult",
    "class_probabilities",
    "mirror_gap",
    "position_probe_batch",
    "row_gap",
    "run_position_probe",
]

#: Tolerance on float64 gaps between outputs that an exact symmetry makes equal
#: (:func:`row_gap`, :func:`mirror_gap`): round-off of ~2e-16 per operation on logits
#: of size ~10 over ~1e3-1e5 operations (chapter sizes up to n=256, 4 layers) stays
#: below 1e-10, while broken symmetries give gaps of order 1.
SYMMETRY_TOL = 1e-9


@dataclasses.dataclass
class ProbeConfig:
    """Sizes and switches of the probe; ``position`` in :data:`POSITIONS`,
    ``normalization`` in ``NORMALIZATIONS``. ``same_markers`` (needs ``markers``):
    the mirror-symmetric frame ``[M] 0 ... 0 [M]`` (one marker id at both ends)
    instead of ``[CLS] 0 ... 0 [SEP]``."""

    n: int = 16
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    position: str = "rope"
    normalization: str = "softmax"
    markers: bool = False
    same_markers: bool = False
    causal: bool = False
    toeplitz_gate: int | None = None
    steps: int = 300
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self):
        check_choice(self.position, "position", POSITIONS)
        check_choice(self.normalization, "normalization", NORMALIZATIONS)
        check_int(self.n, "n", min_value=2)
        check_int(self.d_model, "d_model", min_value=1)
        check_int(self.n_heads, "n_heads", min_value=1)
        check_int(self.n_layers, "n_layers", min_value=1)
        check_bool(self.markers, "markers")
        check_bool(self.same_markers, "same_markers")
        if self.same_markers and not self.markers:
            raise ValueError("same_markers=True needs markers=True")
        check_bool(self.causal, "causal")
        if self.toeplitz_gate is not None:
            check_int(self.toeplitz_gate, "toeplitz_gate", min_value=0)
        check_int(self.steps, "steps", min_value=1)
        check_positive(self.lr, "lr")
        check_int(self.seed, "seed", min_value=0)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads "
                f"({self.n_heads})"
            )


@dataclasses.dataclass
class ProbeResult:
    """What :func:`run_position_probe` returns: final loss and accuracy, whether all
    output rows are identical (:func:`row_gap` below :data:`SYMMETRY_TOL`, float64),
    the predicted positions ``(n,)``, the loss history, the
    model and its input tokens."""

    loss: float
    accuracy: float
    rows_identical: bool
    predictions: torch.Tensor
    history: list
    model: torch.nn.Module = dataclasses.field(repr=False, default=None)
    tokens: torch.Tensor = dataclasses.field(repr=False, default=None)
    config: ProbeConfig | None = dataclasses.field(repr=False, default=None)


def position_probe_batch(
    n: int, *, markers: bool = False, same_markers: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens ``(1, L)`` — ``[0]*n``, or ``[CLS] 0 ... 0 [SEP]`` with ids 1, 2, or with
    ``same_markers`` ``[M] 0 ... 0 [M]`` with id 1 at both ends — and targets ``(n,)``
    = ``0..n-1``."""
    n = check_int(n, "n", min_value=1)
    markers = check_bool(markers, "markers")
    same_markers = check_bool(same_markers, "same_markers")
    if same_markers and not markers:
        raise ValueError("same_markers=True needs markers=True")
    zeros = torch.zeros(n, dtype=torch.long)
    last = 1 if same_markers else 2
    tokens = (
        torch.cat([torch.tensor([1]), zeros, torch.tensor([last])])
        if markers
        else zeros
    )
    return tokens[None], torch.arange(n)


def run_position_probe(
    config: ProbeConfig, *, progress: bool = True, device=None
) -> ProbeResult:
    """Train a small :class:`kexue.nn.Transformer` on the probe (full batch, Adam via
    :func:`kexue.nn.train`) and evaluate it. Seeded by ``config.seed``; the global RNG
    state is restored afterwards. ``device``: where the model and tokens live (default
    CPU); ``predictions`` come back on the CPU."""
    if not isinstance(config, ProbeConfig):
        raise TypeError(f"config must be a ProbeConfig, got {type(config).__name__}")
    progress = check_bool(progress, "progress")
    if device is not None and not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str, torch.device or None, got {device!r}")
    dev = torch.device("cpu" if device is None else device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = Transformer(
            TransformerConfig(
                vocab_size=3,
                d_model=config.d_model,
                n_heads=config.n_heads,
                n_layers=config.n_layers,
                max_len=config.n + 2,
                position=config.position,
                normalization=config.normalization,
                n_out=config.n,
                toeplitz_gate=config.toeplitz_gate,
            )
        ).to(dev)
    tokens, targets = position_probe_batch(
        config.n, markers=config.markers, same_markers=config.same_markers
    )
    tokens, targets = tokens.to(dev), targets.to(dev)
    sl = slice(1, -1) if config.markers else slice(None)

    def loss_fn(m, batch, gen):
        logits = m(batch, is_causal=config.causal)[:, sl]  # (1, n, n)
        return nn.functional.cross_entropy(logits.reshape(-1, config.n), targets)

    gate = f"/gate={config.toeplitz_gate}" if config.toeplitz_gate is not None else ""
    hist = train(
        model,
        loss_fn,
        tokens,
        steps=config.steps,
        batch_size=1,
        lr=config.lr,
        seed=config.seed,
        progress=progress,
        desc=f"{config.position}/{config.normalization}/markers={config.markers}{gate}",
    )
    with torch.no_grad():
        logits = model(tokens, is_causal=config.causal)[0, sl]  # (n, n)
        loss = float(nn.functional.cross_entropy(logits, targets))
        pred = logits.argmax(-1).cpu()
    identical = _row_gap(_model_logits64(model, tokens, config.causal)) < SYMMETRY_TOL
    return ProbeResult(
        loss,
        float((pred == targets.cpu()).float().mean()),
        identical,
        pred,
        hist,
        model,
        tokens,
        config,
    )


def _check_result(result) -> ProbeResult:
    if not isinstance(result, ProbeResult) or result.model is None:
        raise TypeError(
            "result must be a ProbeResult from run_position_probe (with its model), "
            f"got {type(result).__name__}"
        )
    return result


def _model_logits64(model, tokens, causal: bool) -> torch.Tensor:
    """Logits ``(n, n)`` of the probe positions, from a float64 copy of ``model``."""
    model = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        logits = model(tokens, is_causal=causal)[0]  # (L, n)
    if logits.shape[0] != logits.shape[1]:  # markers at both ends
        logits = logits[1:-1]
    return logits.cpu()


def _logits64(result: ProbeResult) -> torch.Tensor:
    causal = result.config.causal if result.config is not None else False
    return _model_logits64(result.model, result.tokens, causal)


def _row_gap(logits: torch.Tensor) -> float:
    return float((logits - logits[:1]).abs().max())


def row_gap(result: ProbeResult) -> float:
    """``max_i |o_i - o_0|`` over the probe logits ``(n, n)`` of a trained probe
    (chapter *relative-position-flaw*, eq. ``rpf-identical``), in float64 on a copy of
    the model like :func:`mirror_gap`: identical rows show as round-off (~1e-16), not
    as float32 noise (~1e-7..1e-5)."""
    return _row_gap(_logits64(_check_result(result)))


def mirror_gap(result: ProbeResult) -> float:
    """``max |o_i - o_{n-1-i}|`` over the probe logits ``(n, n)`` of a trained probe
    (chapter *relative-position-flaw*, mirror obstruction), computed in float64 on a
    copy of the model so that an exact symmetry shows as round-off (~1e-13), not as
    float32 noise (~1e-5)."""
    logits = _logits64(_check_result(result))
    return float((logits - logits.flip(0)).abs().max())


def class_probabilities(result: ProbeResult) -> torch.Tensor:
    """``p(class | position)``, ``(n, n)`` float64 (rows: input positions), of a trained
    probe (chapter *relative-position-flaw*, demo)."""
    return torch.softmax(_logits64(_check_result(result)), -1)
