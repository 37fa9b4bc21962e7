"""Everyday mathematics: one small module per appendix chapter (birthday, camouflage,
wok, projector).

Names that two modules share (Simulation) are not re-exported here: import them from
their module, e.g. ``kexue.everyday.birthday.Simulation``.
"""

from . import birthday, camouflage, projector
from .birthday import (
    calendar_counts,
    expected_first_repeat,
    expected_shared_pairs,
    n_for_probability,
    nine_times_fingers,
    p_shared,
    p_shared_approx,
    p_shared_exact,
    p_shared_weighted,
    sample_days,
    seasonal_weights,
    simulate_first_repeat,
    simulate_parties,
    simulate_shared,
    socks_for_pair,
)
from .camouflage import (
    Recursion,
    SelectionStep,
    colour_histogram,
    equilibrium_variance,
    gaussian_selection_recursion,
    gaussian_selection_step,
    optimal_colour,
    simulate_selection,
    survival_prob,
)
from .projector import (
    PROPERTIES,
    ControlScheme,
    check_properties,
    day_energy_wh,
    plot_scheme,
    reachable,
    shortest_commands,
    standby_energy_kwh,
    transition_system,
)

__all__ = [
    "p_shared_exact",
    "p_shared",
    "p_shared_approx",
    "n_for_probability",
    "expected_shared_pairs",
    "p_shared_weighted",
    "seasonal_weights",
    "sample_days",
    "simulate_shared",
    "calendar_counts",
    "expected_first_repeat",
    "simulate_first_repeat",
    "simulate_parties",
    "socks_for_pair",
    "nine_times_fingers",
    "SelectionStep",
    "Recursion",
    "survival_prob",
    "gaussian_selection_step",
    "gaussian_selection_recursion",
    "equilibrium_variance",
    "simulate_selection",
    "colour_histogram",
    "optimal_colour",
    "ControlScheme",
    "PROPERTIES",
    "transition_system",
    "reachable",
    "shortest_commands",
    "check_properties",
    "day_energy_wh",
    "standby_energy_kwh",
    "plot_scheme",
]
