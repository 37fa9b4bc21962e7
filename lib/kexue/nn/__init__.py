"""Small networks and the training loop shared by the chapters."""

from .time_mlp import TimeMLP, fourier_time_features
from .train import train
from .transformer import Transformer, TransformerConfig
from .unet import SmallUNet

__all__ = [
    "TimeMLP",
    "fourier_time_features",
    "SmallUNet",
    "train",
    "Transformer",
    "TransformerConfig",
]
