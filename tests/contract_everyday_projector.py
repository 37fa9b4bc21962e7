"""Bad-input contract of the projector chapter's module (kexue.everyday.projector)."""

from contract import Call
from kexue.everyday import projector as P

_S = P.ControlScheme.IR_USB_SCENE
_BAD_SCHEME = ["IR_USB_SCENE", None, 3]
_BAD_STATE = [("on", "off"), "on", ["on", "on"], ("off", "on")]

CALLS = [
    Call(
        P.transition_system,
        lambda: dict(scheme=_S),
        {"scheme": "object"},
        bad={"scheme": _BAD_SCHEME},
    ),
    Call(
        P.reachable,
        lambda: dict(scheme=_S, start=("on", "on"), voice_only=True, soft_only=False),
        {
            "scheme": "object",
            "start": "object",
            "voice_only": "bool",
            "soft_only": "bool",
        },
        bad={"scheme": _BAD_SCHEME, "start": _BAD_STATE},
    ),
    Call(
        P.shortest_commands,
        lambda: dict(scheme=_S, start=("on", "on"), goal={"standby"}, soft_only=True),
        {"scheme": "object", "start": "object", "goal": "object", "soft_only": "bool"},
        bad={
            "scheme": _BAD_SCHEME,
            "start": _BAD_STATE + [None],
            "goal": ["on", set(), {"bright"}, None, 3],
        },
    ),
    Call(
        P.check_properties,
        lambda: dict(scheme=_S),
        {"scheme": "object"},
        bad={"scheme": _BAD_SCHEME},
    ),
    Call(
        P.day_energy_wh,
        lambda: dict(standby_w=0.5, use_h=2.0, metered=True, idle_h=0.5, plug_w=0.3),
        {
            "standby_w": "float>=0",
            "use_h": "float>=0",
            "metered": "bool",
            "idle_h": "float>=0",
            "plug_w": "float>=0",
        },
        bad={"use_h": [24.5], "idle_h": [23.0]},
    ),
    Call(
        P.standby_energy_kwh,
        lambda: dict(standby_w=0.5, hours_per_day=20.0, days=365),
        {"standby_w": "float>=0", "hours_per_day": "float>=0", "days": "int>=0"},
        bad={"hours_per_day": [25.0]},
    ),
]


def _plot_kwargs():
    import matplotlib.pyplot as plt

    plt.close("all")
    return dict(scheme=_S, ax=None, path=["ir shutdown key"], start=("on", "on"))


CALLS.append(
    Call(
        P.plot_scheme,
        _plot_kwargs,
        {"scheme": "object", "ax": "object", "path": "object", "start": "object"},
        bad={
            "scheme": _BAD_SCHEME,
            "path": ["ir shutdown key", ["no such command"], [3]],
            "start": _BAD_STATE,
        },
    )
)

EXEMPT = {
    "kexue.everyday.projector.ControlScheme": "an enum of the post's schemes",
    "kexue.everyday.projector.PROPERTIES": "a constant: the properties",
}
