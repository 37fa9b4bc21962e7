"""Everyday mathematics: one small module per appendix chapter (birthday, camouflage,
wok, projector)."""

__all__: list[str] = []

# projector (appendix chapter *projector*, post 9365)
from .projector import (  # noqa: E402
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

__all__ += [
    "PROPERTIES",
    "ControlScheme",
    "check_properties",
    "day_energy_wh",
    "plot_scheme",
    "reachable",
    "shortest_commands",
    "standby_energy_kwh",
    "transition_system",
]

# --- birthday (appendix/birthday)
from .birthday import (  # noqa: E402
    Simulation,
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

__all__ += [
    "Simulation",
    "calendar_counts",
    "expected_first_repeat",
    "expected_shared_pairs",
    "n_for_probability",
    "nine_times_fingers",
    "p_shared",
    "p_shared_approx",
    "p_shared_exact",
    "p_shared_weighted",
    "sample_days",
    "seasonal_weights",
    "simulate_first_repeat",
    "simulate_parties",
    "simulate_shared",
    "socks_for_pair",
]
