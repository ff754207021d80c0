"""engine.prove.timed: an untimed candidate placed on a spec's calendar, judged by the checker."""

from __future__ import annotations

from typing import Any

from dsl.loader import check_source
from dsl.policy import Policy
from engine.check.verify import verify_schedule
from engine.model.calendar import parse_instant
from engine.model.fleet import parse_fleet
from engine.model.schedule import Schedule
from engine.prove.timed import SEARCH_FROM, on_calendar

EXT = {"name": "agent", "publisher": "P", "type": "A", "version": "1.0", "enable_automatic_upgrade": True}


def _fleet(tags: list[dict[str, str]]) -> dict[str, Any]:
    return {"regions": [{"name": "r", "pair": None, "zones": 0}],
            "catalog": [{"publisher": "P", "type": "A", "versions": ["1.0", "1.1"]}],
            "scale_sets": [], "availability_sets": [],
            "vms": [{"name": f"vm{i}", "region": "r", "subscription": "s", "tags": t, "extensions": [EXT]}
                    for i, t in enumerate(tags)]}


def _schedule(n: int) -> dict[str, Any]:
    task = {"extension": "agent", "from_version": "1.0", "to_version": "1.1"}
    return {"phases": [{"index": 0, "regions": ["r"]}],
            "waves": [{"index": i, "phase": 0, "tasks": [{"vm": f"vm{i}", **task}]} for i in range(n)],
            "skipped": [], "lower_bound": 0, "optimal": False}


def _policy(text: str) -> Policy:
    policy = check_source("policy p\n" + text, "p.wg").policy
    assert policy is not None
    return policy


def _placed(text: str, tags: list[dict[str, str]]) -> tuple[Policy, dict[str, Any], dict[str, Any] | None]:
    policy, fleet = _policy(text), _fleet(tags)
    return policy, fleet, on_calendar(policy, fleet, _schedule(len(tags)))


def test_an_untimed_spec_leaves_the_schedule_as_it_is() -> None:
    policy, fleet = _policy("rule one: at most 1 vm per wave\n"), _fleet([{}])
    assert on_calendar(policy, fleet, _schedule(1)) == _schedule(1)


def test_waves_go_in_the_window_of_the_vms_it_selects_and_after_the_bakes() -> None:
    text = ('rule nights: upgrade only Saturday 22:00-23:00 in "Europe/Berlin" where vm.tags.env == "prod"\n'
            "rule slow: install takes 10m\ngate soak: bake 2h after each wave\n")
    policy, fleet, placed = _placed(text, [{}, {"env": "prod"}, {}])
    assert placed is not None
    times = [(parse_instant(w["start"]), parse_instant(w["end"])) for w in placed["waves"]]
    assert times[0][0] == parse_instant(SEARCH_FROM) and times[0][1] - times[0][0] == 600
    assert times[1][0] == parse_instant("2030-01-12T21:00Z")  # Saturday 22:00 in Berlin (winter: UTC+1)
    assert times[2][0] == times[1][1] + 7200
    assert verify_schedule(policy, parse_fleet(fleet), Schedule.model_validate(placed)).ok


def test_a_freeze_pushes_the_wave_past_its_end() -> None:
    policy, fleet, placed = _placed("rule quiet: never from 2030-01-07 to 2030-01-09\n", [{}])
    assert placed is not None and placed["waves"][0]["start"] == "2030-01-10T00:00:00Z"  # a bare end date: inclusive
    assert verify_schedule(policy, parse_fleet(fleet), Schedule.model_validate(placed)).ok


def test_windows_that_never_meet_give_no_placement() -> None:
    text = ("rule a: upgrade only Monday 01:00-02:00\nrule b: upgrade only Tuesday 01:00-02:00\n")
    _, _, placed = _placed(text, [{}])
    assert placed is None
