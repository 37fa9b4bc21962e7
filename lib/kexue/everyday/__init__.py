"""Everyday mathematics: one small module per appendix chapter (birthday, camouflage,
wok, projector)."""

__all__: list[str] = []

# camouflage (chapter appendix/camouflage)
from .camouflage import (  # noqa: E402
    Recursion,
    SelectionStep,
    Simulation,
    colour_histogram,
    equilibrium_variance,
    gaussian_selection_recursion,
    gaussian_selection_step,
    optimal_colour,
    simulate_selection,
    survival_prob,
)

__all__ += [
    "Recursion",
    "SelectionStep",
    "Simulation",
    "colour_histogram",
    "equilibrium_variance",
    "gaussian_selection_recursion",
    "gaussian_selection_step",
    "optimal_colour",
    "simulate_selection",
    "survival_prob",
]
