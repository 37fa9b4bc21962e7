"""Voice control of a projector as small finite-state machines (appendix chapter
*projector*, post 9365).

The post weighs four ways of letting a voice assistant that speaks only infrared and
smart plugs switch a projector it cannot talk to. The chapter (the model is ours, the
schemes are the post's) writes each as a transition system over states ``(plug,
projector)``:

* ``plug`` is ``"on"`` or ``"off"``: whether the (smart or ordinary) socket gives power;
* ``projector`` is ``"unpowered"``, ``"standby"`` or ``"on"``; it is ``"unpowered"``
  exactly when the plug is off.

Each transition is ``(command, next_state, hard)``: ``hard`` marks a *hard cut*, power
removed while the projector is running (equation ``proj-hard``). A command is either
*hands-free* (the assistant can issue it, or it happens by itself: plug switching,
infrared codes, scenes, a server's ADB call, a plug's idle timer) or *manual* (the
original remote in the reader's hand). "Voice" below means hands-free. Properties
are decided by breadth-first search over these graphs (:func:`check_properties`), and
the chapter checks the search against ``scipy.sparse.csgraph`` and a brute-force
enumeration of command sequences.

Assumptions (parameters of the model, not facts about any device) are stated where they
enter: the projector boots when power returns only with its "power on when powered"
setting; a keyboard key can shut it down but not wake it; a server's ADB command can
wake it from network standby.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable

from .._validate import check_bool, check_real

__all__ = [
    "ControlScheme",
    "PROPERTIES",
    "transition_system",
    "reachable",
    "shortest_commands",
    "check_properties",
    "day_energy_wh",
    "standby_energy_kwh",
]

State = tuple[str, str]  # (plug, projector)
_STATES: tuple[State, ...] = (("off", "unpowered"), ("on", "standby"), ("on", "on"))


class ControlScheme(enum.Enum):
    """The schemes of the post (a-c: found online; d: the post's own, two variants)."""

    PLUG_AUTOPOWER = "smart plug + power on when powered"
    HA_ADB = "Home Assistant server + ADB"
    IR_REMOTE_MOD = "remote modified with an IR receiver"
    IR_USB_SCENE = "IR-to-USB keyboard + plug scene (off 10 s, on)"
    IR_USB_METERED = "IR-to-USB keyboard + metering plug (cuts power when idle)"


def _scheme(scheme) -> ControlScheme:
    if not isinstance(scheme, ControlScheme):
        raise TypeError(
            f"scheme must be a ControlScheme (e.g. ControlScheme.IR_USB_SCENE), got "
            f"{type(scheme).__name__}"
        )
    return scheme


def _state(state, name: str = "start") -> State:
    if not isinstance(state, tuple) or tuple(state) not in _STATES:
        raise ValueError(f"{name} must be one of {list(_STATES)}, got {state!r}")
    return state


def transition_system(scheme: ControlScheme) -> dict:
    """The scheme's transition system (equations ``proj-fsm`` and ``proj-hard``).

    Returns ``{"states": [...], "start": state, "edges": [(state, command, next,
    hard), ...], "voice": set of voice commands, "manual": set of manual commands}``.
    ``start`` is the state in which the reader leaves the projector: powered, in standby
    (for the metered plug, unpowered: it has already cut the idle projector).
    """
    s = _scheme(scheme)
    off, sb, on = _STATES
    edges: list[tuple[State, str, State, bool]] = []
    voice: set[str] = set()
    manual: set[str] = set()

    def add(cmd, pairs, is_voice, cuts_running=False):
        # hard: power removed from a running projector (proj-hard); a power-cycle
        # from 'on' passes through 'unpowered' and so is hard as well
        (voice if is_voice else manual).add(cmd)
        for a, b in pairs:
            hard = a == on and (b == off or (cuts_running and b == on))
            edges.append((a, cmd, b, hard))

    # the original remote: power key toggles standby <-> on (graceful both ways)
    remote = [(sb, on), (on, sb)]
    if s is ControlScheme.PLUG_AUTOPOWER:
        # voice switches the plug; power returning boots the projector (assumption)
        add("plug off", [(sb, off), (on, off)], True)
        add("plug on", [(off, on)], True)
        add("remote power", remote, False)
    elif s is ControlScheme.HA_ADB:
        # plug always on; the server's ADB calls (wake from network standby: assumption)
        add("adb shutdown", [(on, sb)], True)
        add("adb wake", [(sb, on)], True)
        add("remote power", remote, False)
    elif s is ControlScheme.IR_REMOTE_MOD:
        # the remote itself becomes the IR receiver: its hand use is gone (the post)
        add("ir power", remote, True)
    else:
        # IR codes become keyboard keys: shutdown works, waking does not (the post)
        add("ir shutdown key", [(on, sb)], True)
        add("remote power", remote, False)
        if s is ControlScheme.IR_USB_SCENE:
            # scene: plug off 10 s, then on; power returning boots the projector
            add("scene power-cycle", [(sb, on), (on, on)], True, cuts_running=True)
        else:
            # metering plug: low draw for a while -> cut; plug on -> boot
            add("idle timer cuts power", [(sb, off)], True)
            add("plug on", [(off, on)], True)
    start = off if s is ControlScheme.IR_USB_METERED else sb
    return {
        "states": list(_STATES),
        "start": start,
        "edges": edges,
        "voice": voice,
        "manual": manual,
    }


def _commands(system: dict, voice_only: bool) -> set[str]:
    return set(system["voice"]) | (set() if voice_only else set(system["manual"]))


def reachable(
    scheme: ControlScheme, start=None, *, voice_only: bool = False, soft_only=False
) -> set:
    """States reachable from ``start`` (default: the scheme's start state) by
    breadth-first search; ``voice_only`` keeps the assistant's commands, ``soft_only``
    drops hard cuts."""
    system = transition_system(scheme)
    start = system["start"] if start is None else _state(start)
    voice_only, soft_only = (
        check_bool(voice_only, "voice_only"),
        check_bool(soft_only, "soft_only"),
    )
    return set(_bfs(system, start, voice_only, soft_only))


def _bfs(system, start, voice_only, soft_only) -> dict:
    """state -> shortest command list from start."""
    allowed = _commands(system, voice_only)
    paths = {start: []}
    queue = deque([start])
    while queue:
        a = queue.popleft()
        for u, cmd, b, hard in system["edges"]:
            if u == a and cmd in allowed and not (soft_only and hard):
                if b not in paths:
                    paths[b] = paths[a] + [cmd]
                    queue.append(b)
    return paths


def shortest_commands(
    scheme: ControlScheme, start, goal: Iterable, *, soft_only: bool = False
) -> list[str] | None:
    """The shortest list of voice commands from ``start`` to any state whose projector
    part is in ``goal`` (e.g. ``{"on"}``), or ``None`` if there is none."""
    system = transition_system(scheme)
    start = _state(start)
    if isinstance(goal, str) or not isinstance(goal, Iterable):
        raise TypeError(f"goal must be a set of projector states, got {goal!r}")
    goal = set(goal)
    if not goal or not goal <= {"unpowered", "standby", "on"}:
        raise ValueError(
            f"goal must be a non-empty subset of {{'unpowered', 'standby', 'on'}}, got "
            f"{goal!r}"
        )
    paths = _bfs(system, start, True, check_bool(soft_only, "soft_only"))
    found = [p for st, p in paths.items() if st[1] in goal]
    return min(found, key=len) if found else None


PROPERTIES = {
    "voice on": "from every reachable state, voice commands reach 'on'",
    "voice off, gracefully": "from 'on', voice commands reach an off state without "
    "a hard cut",
    "voice off only by a hard cut": "from 'on', voice reaches off, but only by a hard "
    "cut",
    "no hard cut needed anywhere": "no voice path the scheme needs includes a hard cut",
    "original remote kept": "the original remote still works by hand",
}


def check_properties(scheme: ControlScheme) -> dict[str, bool]:
    """Decide each of :data:`PROPERTIES` for ``scheme`` by breadth-first search
    (equations ``proj-on`` and ``proj-off`` of the chapter)."""
    system = transition_system(scheme)
    on = ("on", "on")
    states = _bfs(system, system["start"], False, False)
    voice_on = all(
        shortest_commands(scheme, st, {"on"}, soft_only=True) is not None
        for st in states
    )
    soft_off = shortest_commands(scheme, on, {"standby", "unpowered"}, soft_only=True)
    any_off = shortest_commands(scheme, on, {"standby", "unpowered"})
    return {
        "voice on": voice_on,
        "voice off, gracefully": soft_off is not None,
        "voice off only by a hard cut": soft_off is None and any_off is not None,
        "no hard cut needed anywhere": voice_on and soft_off is not None,
        "original remote kept": "remote power" in system["manual"],
    }


def day_energy_wh(
    standby_w: float,
    use_h: float,
    *,
    metered: bool = False,
    idle_h: float = 0.5,
    plug_w: float = 0.0,
) -> float:
    """Energy (Wh) drawn in one day outside use (equation ``proj-energy``): standby at
    ``standby_w`` for the ``24 - use_h`` hours the projector is off, or, with the
    metering plug, only for ``idle_h`` hours before it cuts power. ``plug_w``: the
    smart plug's own draw, all day, in either case. Use itself is not counted (it is the
    same for every scheme)."""
    p = check_real(standby_w, "standby_w", low=0.0)
    use = check_real(use_h, "use_h", low=0.0, high=24.0)
    idle = check_real(idle_h, "idle_h", low=0.0)
    plug = check_real(plug_w, "plug_w", low=0.0)
    if check_bool(metered, "metered") and use + idle > 24.0:
        raise ValueError(f"use_h + idle_h must be <= 24, got {use} + {idle}")
    off_h = 24.0 - use
    standby_h = min(idle, off_h) if metered else off_h
    return p * standby_h + plug * 24.0


def standby_energy_kwh(
    standby_w: float, hours_per_day: float, days: int = 365
) -> float:
    """Energy (kWh) of ``standby_w`` watts drawn ``hours_per_day`` hours a day for
    ``days`` days (e.g. 0.5 W all year: 4.38 kWh)."""
    p = check_real(standby_w, "standby_w", low=0.0)
    h = check_real(hours_per_day, "hours_per_day", low=0.0, high=24.0)
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"days must be an int, got {type(days).__name__}")
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    return p * h * days / 1000.0
