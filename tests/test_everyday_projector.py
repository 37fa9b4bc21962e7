"""kexue.everyday.projector against independent oracles: scipy's graph search for
reachability, brute-force enumeration of command sequences for the shortest paths and
the properties, and direct integration of a day's power profile for the energy."""

import itertools

import numpy as np
import pytest
from kexue.everyday import projector as P
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

SCHEMES = list(P.ControlScheme)
ON = ("on", "on")


def _scipy_reachable(system, start, allowed, soft_only):
    index = {s: k for k, s in enumerate(system["states"])}
    n = len(index)
    adj = np.zeros((n, n))
    for a, cmd, b, hard in system["edges"]:
        if cmd in allowed and not (soft_only and hard):
            adj[index[a], index[b]] = 1
    order = breadth_first_order(
        csr_matrix(adj), index[start], return_predecessors=False
    )
    return {system["states"][k] for k in order}


def _brute_paths(system, start, allowed, soft_only, max_len=4):
    """Every command sequence up to max_len, run through the edges by hand."""
    out = {}
    cmds = sorted(allowed)
    for length in range(max_len + 1):
        for seq in itertools.product(cmds, repeat=length):
            state, ok = start, True
            for c in seq:
                nxt = [
                    (b, hard)
                    for a, cmd, b, hard in system["edges"]
                    if a == state and cmd == c
                ]
                if not nxt or (soft_only and nxt[0][1]):
                    ok = False
                    break
                state = nxt[0][0]
            if ok and state not in out:
                out[state] = list(seq)
    return out


@pytest.mark.parametrize("scheme", SCHEMES, ids=[s.name for s in SCHEMES])
@pytest.mark.parametrize("voice_only", [False, True])
@pytest.mark.parametrize("soft_only", [False, True])
def test_reachable_matches_scipy_and_brute_force(scheme, voice_only, soft_only):
    system = P.transition_system(scheme)
    allowed = system["voice"] | (set() if voice_only else system["manual"])
    for start in system["states"]:
        got = P.reachable(scheme, start, voice_only=voice_only, soft_only=soft_only)
        assert got == _scipy_reachable(system, start, allowed, soft_only)
        assert got == set(_brute_paths(system, start, allowed, soft_only))


def test_transitions_are_deterministic_and_hard_means_cutting_a_running_projector():
    for scheme in SCHEMES:
        system = P.transition_system(scheme)
        keys = [(a, cmd) for a, cmd, _, _ in system["edges"]]
        assert len(keys) == len(set(keys)), scheme
        for a, cmd, b, hard in system["edges"]:
            # the projector is unpowered exactly when the plug is off
            assert (b[0] == "off") == (b[1] == "unpowered")
            if hard:
                assert a == ON, (scheme, cmd)


@pytest.mark.parametrize("scheme", SCHEMES, ids=[s.name for s in SCHEMES])
def test_shortest_commands_have_brute_force_length(scheme):
    system = P.transition_system(scheme)
    for start, goal, soft in itertools.product(
        system["states"], [{"on"}, {"standby", "unpowered"}], [False, True]
    ):
        got = P.shortest_commands(scheme, start, goal, soft_only=soft)
        paths = _brute_paths(system, start, system["voice"], soft)
        lengths = [len(p) for s, p in paths.items() if s[1] in goal]
        if not lengths:
            assert got is None
        else:
            assert got is not None and len(got) == min(lengths)
            # and the commands do lead there
            state = start
            for c in got:
                state = next(
                    b for a, k, b, _ in system["edges"] if a == state and k == c
                )
            assert state[1] in goal


def _brute_properties(scheme):
    system = P.transition_system(scheme)
    everywhere = _brute_paths(
        system, system["start"], system["voice"] | system["manual"], False
    )
    voice_on = all(
        any(s[1] == "on" for s in _brute_paths(system, st, system["voice"], True))
        for st in everywhere
    )
    soft = _brute_paths(system, ON, system["voice"], True)
    anyway = _brute_paths(system, ON, system["voice"], False)
    soft_off = any(s[1] != "on" for s in soft)
    any_off = any(s[1] != "on" for s in anyway)
    return {
        "voice on": voice_on,
        "voice off, gracefully": soft_off,
        "voice off only by a hard cut": any_off and not soft_off,
        "no hard cut needed anywhere": voice_on and soft_off,
        "original remote kept": "remote power" in system["manual"],
    }


@pytest.mark.parametrize("scheme", SCHEMES, ids=[s.name for s in SCHEMES])
def test_properties_match_brute_force(scheme):
    got = P.check_properties(scheme)
    assert set(got) == set(P.PROPERTIES)
    assert got == _brute_properties(scheme)


def test_the_posts_statements_about_the_schemes():
    plug = P.check_properties(P.ControlScheme.PLUG_AUTOPOWER)
    assert plug["voice on"] and plug["voice off only by a hard cut"]
    mod = P.check_properties(P.ControlScheme.IR_REMOTE_MOD)
    assert not mod["original remote kept"]
    for s in (P.ControlScheme.IR_USB_SCENE, P.ControlScheme.IR_USB_METERED):
        props = P.check_properties(s)
        assert props["no hard cut needed anywhere"] and props["original remote kept"]


def _profile_energy(standby_w, use_h, metered, idle_h, plug_w, minutes=24 * 60 * 20):
    """Midpoint sum of the power drawn over a day: use first, then off."""
    t = (np.arange(minutes) + 0.5) * 24.0 / minutes
    off = t >= use_h
    standby = off & ((t < use_h + idle_h) if metered else True)
    power = np.where(standby, standby_w, 0.0) + plug_w
    return float(power.sum() * 24.0 / minutes)


@pytest.mark.parametrize("metered", [False, True])
def test_day_energy_matches_a_sampled_power_profile(metered):
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, use, idle, plug = (
            rng.uniform(0, 3),
            rng.uniform(0, 8),
            rng.uniform(0, 4),
            rng.uniform(0, 1),
        )
        want = _profile_energy(p, use, metered, idle, plug)
        got = P.day_energy_wh(p, use, metered=metered, idle_h=idle, plug_w=plug)
        # the sampled profile misplaces each of its two switching times by at most
        # one sample step, so it is off by at most 2 * step * standby_w
        assert abs(got - want) <= 2 * (24.0 / (24 * 60 * 20)) * p + 1e-12


def test_standby_energy_examples_and_scaling():
    assert P.standby_energy_kwh(0.5, 24) == pytest.approx(4.38)
    assert P.standby_energy_kwh(1.0, 12, days=10) == pytest.approx(0.12)
    assert P.standby_energy_kwh(2.0, 6) == pytest.approx(
        2 * P.standby_energy_kwh(1.0, 6)
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: P.transition_system("IR_USB_SCENE"), "scheme"),
        (lambda: P.reachable(P.ControlScheme.HA_ADB, ("on", "off")), "start"),
        (lambda: P.reachable(P.ControlScheme.HA_ADB, voice_only="yes"), "voice_only"),
        (lambda: P.shortest_commands(P.ControlScheme.HA_ADB, ON, "on"), "goal"),
        (lambda: P.shortest_commands(P.ControlScheme.HA_ADB, ON, {"bright"}), "goal"),
        (lambda: P.day_energy_wh(-1.0, 2.0), "standby_w"),
        (lambda: P.day_energy_wh(1.0, 25.0), "use_h"),
        (lambda: P.day_energy_wh(1.0, 20.0, metered=True, idle_h=5.0), "idle_h"),
        (lambda: P.standby_energy_kwh(float("nan"), 2.0), "standby_w"),
        (lambda: P.standby_energy_kwh(1.0, 2.0, days=2.5), "days"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
