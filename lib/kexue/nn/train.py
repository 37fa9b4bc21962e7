"""The one training loop of the book: Adam, cosine learning rate, a progress bar, the
loss history.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch

from .._validate import (
    check_bool,
    check_callable,
    check_int,
    check_positive,
    check_real,
)

__all__ = ["train"]


def _book_build() -> bool:
    return os.environ.get("KEXUE_BOOK_BUILD") == "1"


def train(
    model: torch.nn.Module,
    loss_fn: Callable,
    data: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    progress: bool = True,
    desc: str = "training",
    weight_decay: float = 0.0,
) -> list[float]:
    """Minimise ``loss_fn(model, batch, generator)`` over random minibatches of ``data``
    (N, *S).

    Adam with a cosine-decayed learning rate; seeded (the minibatches and the noise
    drawn by ``loss_fn`` through ``generator`` repeat exactly). Shows a tqdm bar in a
    live notebook and prints one summary line when the book is built. Returns the loss
    per step. A non-finite loss raises ``FloatingPointError`` (NaN in ``data`` is not
    checked up front: it surfaces there).
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model must have trainable parameters")
    check_callable(loss_fn, "loss_fn")
    steps = check_int(steps, "steps", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    lr = check_positive(lr, "lr")
    seed = check_int(seed, "seed", min_value=0)
    progress = check_bool(progress, "progress")
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str, got {type(desc).__name__}")
    weight_decay = check_real(weight_decay, "weight_decay", low=0.0)
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            f"data must be a torch.Tensor of shape (N, ...), got {type(data).__name__}"
        )
    if data.ndim < 1 or len(data) < 1:
        raise ValueError(
            "data must be a non-empty tensor of shape (N, ...), got "
            f"{tuple(data.shape)}"
        )
    from tqdm.auto import tqdm

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    device = next(model.parameters()).device
    losses: list[float] = []
    start = time.perf_counter()
    bar = tqdm(
        range(steps), desc=desc, disable=not progress or _book_build(), mininterval=0.5
    )
    model.train()
    for step in bar:
        idx = torch.randint(0, len(data), (batch_size,), generator=gen)
        loss = loss_fn(model, data[idx].to(device), gen)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            got = (
                f"shape {tuple(loss.shape)}"
                if isinstance(loss, torch.Tensor)
                else type(loss).__name__
            )
            raise TypeError(f"loss_fn must return a scalar torch.Tensor, got {got}")
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss.item()} at step {step}; lower lr (now {lr})"
            )
        if not loss.requires_grad:
            raise ValueError("loss_fn must return a loss that depends on the model")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
    model.eval()
    if progress and _book_build():
        tail = losses[-min(100, steps) :]
        print(
            f"{desc}: {steps} steps in {time.perf_counter() - start:.1f} s, "
            f"final loss {sum(tail) / len(tail):.4f} (mean of last {len(tail)})"
        )
    return losses
