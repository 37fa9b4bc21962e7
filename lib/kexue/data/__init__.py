"""Data that needs no network: 2-D toy sets, scikit-learn's digits, and Gaussian
mixtures with exact scores."""

from .mixture import GaussianMixture, ring_mixture
from .toy import digits, digits_images, moons, swiss_roll, two_d

__all__ = [
    "moons",
    "swiss_roll",
    "two_d",
    "digits",
    "digits_images",
    "GaussianMixture",
    "ring_mixture",
]
