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
    "plot_scheme",
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


_XY = {
    ("off", "unpowered"): (0.0, 0.0),
    ("on", "standby"): (1.0, 0.0),
    ("on", "on"): (2.0, 0.0),
}


def plot_scheme(scheme: ControlScheme, ax=None, *, path=None, start=None):
    """Draw the scheme's states and transitions on ``ax`` (a new figure if ``None``):
    one arrow per pair of states with its commands (manual ones marked "(hand)"),
    solid if a hands-free command takes it, dotted if only the remote does, red if it
    is a hard cut; ``path`` (a list of commands from ``start``) is drawn thick.
    Returns ``ax``."""
    import matplotlib.pyplot as plt

    system = transition_system(scheme)
    start = system["start"] if start is None else _state(start)
    if path is not None and (
        isinstance(path, str)
        or not isinstance(path, (list, tuple))
        or not all(isinstance(c, str) for c in path)
    ):
        raise TypeError(f"path must be a list of command names, got {path!r}")
    taken, state = set(), start
    for cmd in path or []:
        nxt = [b for a, c, b, _ in system["edges"] if a == state and c == cmd]
        if not nxt:
            raise ValueError(f"path: no command {cmd!r} from state {state}")
        taken.add((state, cmd))
        state = nxt[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.4))
    for st, (x, y) in _XY.items():
        face = "#fde68a" if st == start else "white"
        ax.add_patch(plt.Circle((x, y), 0.13, fc=face, ec="black", lw=1.2, zorder=3))
        ax.text(x, y, st[1], ha="center", va="center", fontsize=8, zorder=4)
    # one arrow per ordered pair of states, labelled with all its commands
    arrows: dict = {}
    for a, cmd, b, hard in system["edges"]:
        arrows.setdefault((a, b), []).append((cmd, hard))
    for (a, b), cmds in arrows.items():
        hard = any(h for _, h in cmds)
        colour = "#dc2626" if hard else "#1d4ed8"
        style = "-" if any(c in system["voice"] for c, _ in cmds) else ":"
        width = 3.0 if any((a, c) in taken for c, _ in cmds) else 1.2
        label = "\n".join(
            c + (" (hand)" if c in system["manual"] else "") for c, _ in cmds
        )
        (x0, y0), (x1, y1) = _XY[a], _XY[b]
        arrow = dict(arrowstyle="->", color=colour, lw=width, ls=style)
        if a == b:  # a self-loop on the right of 'on': the power-cycle
            arrow["connectionstyle"] = "arc3,rad=1.6"
            ax.annotate(
                "", (x0 + 0.1, y0 + 0.1), (x0 + 0.1, y0 - 0.1), arrowprops=arrow
            )
            ax.text(x0 + 0.32, y0, label, va="center", fontsize=7, color=colour)
            continue
        # states on a line: arrows to the right bend below it, to the left above it
        rad = 0.3 if abs(x1 - x0) < 1.5 else 0.55  # the long arcs pass above/below
        arrow.update(shrinkA=13, shrinkB=13, connectionstyle=f"arc3,rad={rad}")
        ax.annotate("", (x1, y1), (x0, y0), arrowprops=arrow)
        below = x1 > x0
        bend = 0.5 * rad * abs(x1 - x0)  # the arc's midpoint, off the line
        ax.text(
            (x0 + x1) / 2,
            -bend - 0.04 if below else bend + 0.04,
            label,
            ha="center",
            va="top" if below else "bottom",
            fontsize=7,
            color=colour,
            bbox=dict(fc="white", ec="none", alpha=0.85, pad=0.5),
        )
    ax.set_xlim(-0.25, 3.0)
    ax.set_ylim(-0.95, 0.95)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(scheme.name, fontsize=9)
    return ax
