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
