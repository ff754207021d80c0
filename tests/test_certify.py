"""Certificates of the planner's unsat answers (engine.certify, engine.check.certificate).

* The second solver (CP-SAT on a model built from the checker's reading) against exhaustive search judged by the
  checker, on generated small fleets and rules of every kind: same feasibility, same shortest wave count, and every
  schedule it finds passes the checker.
* The planner against the second solver on generated fleets: "optimal" and "no schedule exists" re-proved, every
  certificate re-derived by the checker (``engine.api.verify``), no disagreement.
* Forged certificates are refused with a clear message; a schedule without one still reads and verifies.
* The known past bug class: "no schedule exists" for a ``count extension`` rule with an ``extension.*`` filter where
  a one-wave schedule exists is refused by the second solver.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import test_plan_differential as exhaustive
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from plan_support import FleetBuilder, ext, span
from strategies import SPAN, fleets, rules

from dsl.policy import Attr, Compare, DistinctLimit, Policy, Rule
from engine import api
from engine.certify.certify import certify_schedule, confirm_infeasible, reprover, to_schedule
from engine.certify.cpsat import Found, NoSchedule, solve
from engine.check.certificate import check_certificate, due_tasks
from engine.check.verify import verify_schedule
from engine.model.errors import CheckFailed, Infeasible, SolverTimeout
from engine.model.fleet import Fleet
from engine.model.resources import bundled_spec, sample_fleet
from engine.model.schedule import BoundNode, Certificate, Schedule, load_schedule
from engine.model.upgrades import resolve_upgrades
from engine.plan.synthesis import plan

ROOT = Path(__file__).resolve().parent.parent
# WAVEGATE_CERTIFY_CASES=2000 for a longer differential run.
CASES = settings(max_examples=int(os.environ.get("WAVEGATE_CERTIFY_CASES", "150")), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _policy(rs: Sequence[Rule]) -> Policy:
    named = tuple(dataclasses.replace(r, name=f"r{i}") for i, r in enumerate(rs))
    return Policy(name="generated", span=SPAN, files=("<generated>",), rules=named)


def _shortest_by_search(policy: Policy, fleet: Fleet) -> int | None:
    """The fewest waves of a schedule the checker accepts, by exhaustive search (None: no schedule exists)."""
    resolution = resolve_upgrades(fleet, policy.versions)
    skipped = [s for s in resolution.skipped]
    best: int | None = None
    for s in exhaustive._schedules(fleet, resolution.tasks, skipped):
        if (best is None or len(s.waves) < best) and verify_schedule(policy, fleet, s).ok:
            best = len(s.waves)
    return best


@CASES
@given(fleets(max_vms=3), st.lists(rules(), min_size=1, max_size=2))
def test_second_solver_agrees_with_exhaustive_search(fleet: Fleet, rs: list[Rule]) -> None:
    policy = _policy(rs)
    dues = due_tasks(policy, fleet)
    assume(0 < len(dues) <= exhaustive.MAX_TASKS)
    best = _shortest_by_search(policy, fleet)
    anywhere = solve(policy.rules, fleet, dues, None, 20)
    if best is None:
        event("no schedule exists")
        assert isinstance(anywhere, NoSchedule), f"CP-SAT found {anywhere} where no schedule passes the checker"
        return
    event(f"shortest {best}")
    at_best = solve(policy.rules, fleet, dues, best, 20)
    assert isinstance(at_best, Found), f"CP-SAT found no schedule in {best} waves, the search did"
    got = to_schedule(policy, fleet, dues, at_best)
    report = verify_schedule(policy, fleet, got)
    assert report.ok, [v.render() for v in report.violations]
    assert isinstance(anywhere, Found)
    assert isinstance(solve(policy.rules, fleet, dues, best - 1, 20), NoSchedule)


@CASES
@given(fleets(max_vms=6), st.lists(rules(), min_size=1, max_size=3))
def test_planner_unsat_answers_agree_with_the_second_solver(fleet: Fleet, rs: list[Rule]) -> None:
    policy = _policy(rs)
    dues = due_tasks(policy, fleet)
    assume(dues)
    try:
        res = plan(policy, fleet, time_limit=20, workers=1, certify_time=20)
    except Infeasible as e:
        event("no schedule exists")
        assert "re-proved by OR-tools CP-SAT" in e.explanation
        assert isinstance(solve(policy.rules, fleet, dues, None, 20), NoSchedule)
        return
    except CheckFailed as e:
        # A planner (Z3) answer that CP-SAT refutes: the pipeline refuses it, as it must, but it is a planner bug.
        # The two found so far (one order variable shared by every order pair) are fixed and pinned below; 5,000
        # generated cases found no other (seed 777), so a refusal here fails.
        pytest.fail(f"the second solver refuted a planner answer (a planner bug): {e}")
    except SolverTimeout:
        event("planner: unknown (timeout)")
        return
    s = res.schedule
    assert s.certificate is not None
    if '"kind": "solver"' in json.dumps(s.certificate.model_dump()):
        event("a step rests on CP-SAT")
    report = api.verify(policy, fleet, s, certify_time=20)
    assert report.ok, [v.render() for v in report.violations]
    if s.optimal:
        event("optimal")
        assert s.certificate.optimal and s.lower_bound == len(s.waves)
        assert isinstance(solve(policy.rules, fleet, dues, len(s.waves) - 1, 20), NoSchedule)
    elif any(n.startswith("optimality unconfirmed") for n in res.notes):
        event("optimality unconfirmed")
    else:
        event("not optimal")


# -- the sample fleet ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[Policy, Fleet, Schedule]:
    policy, fleet = api.load_policy(bundled_spec()), api.load_fleet(sample_fleet())
    return policy, fleet, plan(policy, fleet, time_limit=60).schedule


def test_sample_plan_is_certified_optimal_by_the_witness_alone(sample: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = sample
    cert = s.certificate
    assert cert is not None and cert.optimal and cert.lower_bound == s.lower_bound == len(s.waves) == 36
    assert cert.witness.kind == "apart_beside"
    assert '"kind": "solver"' not in json.dumps(cert.model_dump())  # no step rests on a solver
    found = check_certificate(policy, fleet, s)
    assert found is not None and not found.problems and found.certified == 36


def _with(s: Schedule, cert: Certificate, **fields: object) -> Schedule:
    return s.model_copy(update={"certificate": cert, **fields})


def _refusals(policy: Policy, fleet: Fleet, s: Schedule) -> list[str]:
    return [v.message for v in verify_schedule(policy, fleet, s).violations if v.rule == "certificate"]


def test_forged_lower_bound_is_refused(sample: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = sample
    assert s.certificate is not None
    witness = s.certificate.witness.model_copy(update={"waves": 37})
    got = _refusals(policy, fleet, _with(s, Certificate(lower_bound=37, optimal=False, witness=witness),
                                        lower_bound=37, optimal=False))
    assert any("claims 37 waves, the fleet and policy give 36" in m for m in got)
    assert any("lower_bound 37 is larger than the certified lower bound 36" in m for m in got)


def test_forged_count_deep_in_the_witness_is_refused(sample: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = sample
    assert s.certificate is not None
    doc = s.certificate.model_dump()
    doc["witness"]["parts"][0]["parts"][0]["waves"] += 1
    got = _refusals(policy, fleet, _with(s, Certificate.model_validate(doc)))
    assert any(m.startswith("refused: certificate.witness.parts[0].parts[0]: claims") for m in got), got


def test_optimal_claim_above_the_certified_bound_is_refused(sample: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = sample
    weak = BoundNode(kind="tasks", waves=1, why="tasks need a wave")
    got = _refusals(policy, fleet, _with(s, Certificate(lower_bound=1, optimal=True, witness=weak),
                                        lower_bound=1, optimal=True))
    assert any("optimal is true but the schedule has 36 waves and the certified lower bound is 1" in m for m in got)


def test_a_witness_naming_a_rule_it_does_not_fit_is_refused(sample: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = sample
    bad = BoundNode(kind="capacity", waves=2, rule="one_zone", group=["eastus2"], vms=2, cap=1)
    got = _refusals(policy, fleet, _with(s, Certificate(lower_bound=2, optimal=False, witness=bad), lower_bound=2,
                                        optimal=False))
    assert any("a 'capacity' argument does not apply to rule one_zone" in m for m in got), got


def test_a_schedule_without_a_certificate_still_reads_and_verifies() -> None:
    path = ROOT / "tests/fixtures/exec/schedule-azure-default.json"
    s = load_schedule(path)
    assert s.certificate is None and "certificate" not in s.to_json()


def test_verify_cli_refuses_a_forged_certificate(tmp_path: Path, sample: tuple[Policy, Fleet, Schedule]) -> None:
    _, _, s = sample
    doc = json.loads(s.to_json())
    doc["lower_bound"] = doc["certificate"]["lower_bound"] = doc["certificate"]["witness"]["waves"] = 40
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    res = subprocess.run([sys.executable, "-m", "engine.cli", "verify", str(forged)], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "certificate: refused: lower_bound 40 is larger than the certified lower bound 36" in res.stdout
    good = tmp_path / "good.json"
    good.write_text(s.to_json())
    res = subprocess.run([sys.executable, "-m", "engine.cli", "verify", str(good)], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0 and "certificate: lower bound 36 re-derived" in res.stdout


# -- solver steps, small fleets -------------------------------------------------------------------------------------


def _zones_fleet() -> Fleet:
    """One region, two zones, a scale set of 4 per zone under the default rules: the witness finds the bound."""
    return FleetBuilder().region("r1", zones=2).scale_set("ss", "r1", 8, zones=["1", "2"], uds=2).build()


def test_a_solver_step_is_noted_without_reprove_and_refused_when_it_does_not_hold() -> None:
    from plan_support import policy as default_policy

    pol = default_policy(prefer=False)
    fleet = _zones_fleet()
    s = certify_schedule(pol, fleet, plan(pol, fleet, time_limit=20).schedule, 10)
    assert s.certificate is not None and s.certificate.optimal
    n = len(s.waves)
    # Claim one wave more than the fleet needs, "proved by the solver": re-run, CP-SAT finds n waves.
    forged = BoundNode(kind="solver", waves=n + 1, solver="OR-tools CP-SAT", parts=[s.certificate.witness])
    cert = Certificate(lower_bound=n + 1, optimal=False, witness=forged)
    noted = verify_schedule(pol, fleet, _with(s, cert, lower_bound=n + 1, optimal=False))
    assert [v.message for v in noted.notes if v.rule == "certificate"], "an unconfirmed solver step is noted"
    rerun = verify_schedule(pol, fleet, _with(s, cert, lower_bound=n + 1, optimal=False), reprover(pol, fleet, 10))
    msgs = [v.message for v in rerun.violations if v.rule == "certificate"]
    assert any("the second solver, re-run, did not confirm" in m and "found a schedule" in m for m in msgs), msgs


def test_a_true_solver_step_is_confirmed_when_re_run() -> None:
    from plan_support import policy as default_policy

    pol = default_policy(prefer=False)
    fleet = _zones_fleet()
    s = certify_schedule(pol, fleet, plan(pol, fleet, time_limit=20).schedule, 10)
    assert s.certificate is not None
    n = len(s.waves)
    step = BoundNode(kind="solver", waves=n, solver="OR-tools CP-SAT",
                     parts=[BoundNode(kind="tasks", waves=1, why="tasks need a wave")])
    cert = Certificate(lower_bound=n, optimal=True, witness=step)
    report = verify_schedule(pol, fleet, _with(s, cert), reprover(pol, fleet, 10))
    assert report.ok, [v.render() for v in report.violations]


def _extension_count_fleet() -> tuple[Policy, Fleet]:
    """Two VMs, each with the monitor and the agent extension; at most 2 extensions where extension.name is monitor
    or agent per region per wave: one wave holds everything (the past bug said no schedule exists)."""
    b = FleetBuilder().region("r1")
    b.catalog.append({"publisher": "P", "type": "T", "versions": ["1.0", "1.1"]})
    exts = [ext(), {**ext("monitor", "1.0", publisher="P", type_="T")}]
    b.vm("a", "r1", exts=exts).vm("b", "r1", exts=exts)
    where = Compare("in", Attr(("extension", "name")), ("monitor", "da"))
    rule = DistinctLimit("ext_count", span(1), limit=2, count="extension", per="region", where=where)
    return Policy(name="t", span=span(0), files=("x.wg",), rules=(rule,)), b.build()


def test_a_wrong_no_schedule_exists_for_an_extension_count_is_refused() -> None:
    pol, fleet = _extension_count_fleet()
    assert isinstance(solve(pol.rules, fleet, due_tasks(pol, fleet), 1, 10), Found)
    wrong = Infeasible("no schedule exists: rule ext_count cannot be met", ("ext_count",))
    with pytest.raises(CheckFailed, match=r"found a schedule of \d+ waves that the independent checker accepts"):
        confirm_infeasible(pol, fleet, wrong, 10)


def test_the_planner_plans_the_extension_count_case_in_one_wave() -> None:
    pol, fleet = _extension_count_fleet()
    res = plan(pol, fleet, time_limit=20)
    assert len(res.schedule.waves) == 1 and res.optimal


def test_a_true_refusal_is_re_proved_and_says_so() -> None:
    pol = api.load_policy(ROOT / "specs/ring-ordered.wg")
    fleet = api.load_fleet(sample_fleet())
    with pytest.raises(Infeasible) as e:
        plan(pol, fleet, time_limit=60)
    assert e.value.explanation.endswith("(re-proved by OR-tools CP-SAT on a model built from the checker's reading)")
    assert set(e.value.regions) == {"australiacentral", "australiacentral2"}


def test_certify_imports_neither_the_planner_nor_z3() -> None:
    code = ("import sys, engine.certify.certify, engine.certify.witness, engine.check.certificate; "
            "print(sorted(m for m in sys.modules if m == 'z3' or m.startswith(('z3.', 'engine.plan'))))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def _triangle() -> tuple[Policy, Fleet]:
    """Three VMs pairwise sharing a scale set, a zone or a subscription, one VM of each per wave: 3 waves, while
    every single group has 2 VMs (the witness proves 2; the third wave needs a solver)."""
    from dsl.policy import Capacity, Count

    b = FleetBuilder().region("r1", zones=2)
    b.scale_sets += [{"name": n, "region": "r1", "upgrade_mode": "automatic"} for n in ("A", "B")]
    b.vm("a", "r1", zone="1", ss="A", ud=0, sub="s1").vm("b", "r1", zone="2", ss="A", ud=0, sub="s2")
    b.vm("c", "r1", zone="1", ss="B", ud=0, sub="s2")
    rules = tuple(Capacity(f"one_per_{scope}", span(i + 1), amount=Count(1), of=scope)
                  for i, scope in enumerate(("scale_set", "zone", "subscription")))
    return Policy(name="t", span=span(0), files=("x.wg",), rules=rules), b.build()


def test_a_bound_beyond_the_witness_is_proved_by_the_second_solver_and_re_run_by_verify() -> None:
    pol, fleet = _triangle()
    res = plan(pol, fleet, time_limit=20, certify_time=20)
    s = res.schedule
    assert s.certificate is not None and len(s.waves) == 3
    assert s.optimal and s.lower_bound == 3
    step = s.certificate.witness.parts[0]  # region r1's tasks, proved by the second solver
    assert step.kind == "solver" and step.region == "r1" and step.waves == 3
    assert step.parts[0].waves == 2  # the combinatorial part alone
    assert api.verify(pol, fleet, s).ok
    noted = verify_schedule(pol, fleet, s)  # without the second solver: the step is noted, not certified here
    assert any("rest on a OR-tools CP-SAT proof, not re-run" in v.message for v in noted.notes)


def test_without_time_for_the_second_solver_optimality_is_unconfirmed() -> None:
    pol, fleet = _triangle()
    res = plan(pol, fleet, time_limit=20, certify_time=0)
    s = res.schedule
    assert s.certificate is not None and len(s.waves) == 3
    assert not s.optimal and s.lower_bound == 2 and not res.optimal
    assert any(n.startswith("optimality unconfirmed: the planner (Z3) proved at least 3 waves") for n in res.notes)
    assert api.verify(pol, fleet, s).ok


def test_a_planned_schedule_with_its_certificate_meets_the_schedule_json_schema(
        sample: tuple[Policy, Fleet, Schedule]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from engine.model.schedule import schedule_schema

    _, _, s = sample
    jsonschema.validate(json.loads(s.to_json()), schedule_schema())
    assert Schedule.model_validate_json(s.to_json()) == s  # the certificate reads back as written


def test_a_core_that_is_not_one_is_refused() -> None:
    """An explanation naming rules that alone have a schedule is refused, even if the policy had none."""
    pol, fleet = _extension_count_fleet()
    wrong = Infeasible("no schedule exists: rules ext_count and more conflict", ("ext_count",), ("r1",))
    richer = dataclasses.replace(pol, rules=(*pol.rules, *_triangle()[0].rules))
    with pytest.raises(CheckFailed, match="rules ext_count alone conflict, but OR-tools CP-SAT found a schedule"):
        confirm_infeasible(richer, fleet, wrong, 10)


@pytest.fixture(scope="module")
def strict() -> tuple[Policy, Fleet, Schedule]:
    policy, fleet = api.load_policy(bundled_spec("team-strict.wg")), api.load_fleet(sample_fleet())
    return policy, fleet, plan(policy, fleet, time_limit=60).schedule


def test_phase_arguments_re_derive_and_their_misuse_is_refused(strict: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = strict
    assert s.certificate is not None and s.certificate.optimal and len(s.waves) == 87
    root = s.certificate.witness
    assert root.kind == "canary_alone" and [p.part for p in root.parts] == ["canary", "rest"]
    rest = root.parts[1]
    assert rest.kind == "regions_per_phase" and rest.rule == "regions_per_phase"
    assert not _refusals(policy, fleet, s)
    # A region that the regions-per-phase rule does not count in that group (eastus2 is the canary's, not the rest's).
    stray = rest.model_copy(update={"parts": [*rest.parts[:-1], rest.parts[-1].model_copy(update={"region": "eastus2"})]})
    forged = root.model_copy(update={"parts": [root.parts[0], stray]})
    got = _refusals(policy, fleet, _with(s, Certificate(lower_bound=87, optimal=True, witness=forged)))
    assert got, "a part selecting tasks outside its parent's is refused"
    # Two regions that are not geo-paired, argued apart by geo_pairs.
    a, b = rest.parts[0].region, rest.parts[1].region
    assert a is not None and b is not None and not fleet.paired(a, b)
    apart = BoundNode(kind="regions_apart", waves=rest.parts[0].waves + rest.parts[1].waves, rule="geo_pairs",
                      parts=rest.parts[:2])
    got = _refusals(policy, fleet, _with(s, Certificate(lower_bound=apart.waves, optimal=False, witness=apart),
                                         lower_bound=apart.waves, optimal=False))
    assert any(f"regions {a} and {b} are not kept apart by rule geo_pairs" in m for m in got), got
    # The canary argument without the rule saying alone: the rule named must be a canary rule that goes alone.
    wrong_rule = root.model_copy(update={"rule": "fleet_cap"})
    got = _refusals(policy, fleet, _with(s, Certificate(lower_bound=87, optimal=True, witness=wrong_rule)))
    assert any("a 'canary_alone' argument does not apply to rule fleet_cap" in m for m in got), got


def test_facts_the_checker_re_derives_let_the_second_solver_prove_a_counting_bound() -> None:
    """Koreacentral on the sample needs 21 waves by the zones' counting argument; without it CP-SAT does not decide
    20 waves in a minute, with the zones' own re-derived bounds (not the region's) it refutes 20."""
    from engine.certify.witness import Witness
    from engine.check.certificate import WitnessCheck

    policy, fleet = api.load_policy(bundled_spec()), api.load_fleet(sample_fleet())
    dues = due_tasks(policy, fleet)
    w = Witness(policy, fleet, dues)
    idx = w.by_region()["koreacentral"]
    mine = [dues[i] for i in idx]
    node = w.need(idx)
    assert node is not None and node.waves == 21
    check = WitnessCheck(policy, fleet)
    assert check.value(node, mine, "w") == 21 and not check.problems
    facts = [f for f in check.facts if len(f[0]) < len(mine)]
    assert facts and all(k < 21 for _, k in facts)
    assert isinstance(solve(policy.rules, fleet, mine, 20, 30, facts), NoSchedule)
    assert isinstance(solve(policy.rules, fleet, mine, 21, 30, facts), Found)


# -- planner bugs the second solver found (tests/test_certify.py's differential run, seed 44) -------------------------


def _ud_order_fleet() -> tuple[Policy, Fleet]:
    """Order waves by update domain, one region per wave: vm4 (region 12, domain 0) alone first, then eastus's domain
    1 (vm2, with the two VMs without a domain) and domain 2 (vm0): 3 waves."""
    from dsl.policy import OrderBy
    from engine.model.fleet import parse_fleet

    ama = {"name": "ama", "publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent", "version": "1.0",
           "enable_automatic_upgrade": True}

    def vm(name: str, region: str, ud: int | None, **where: str) -> dict[str, object]:
        return {"name": name, "region": region, "update_domain": ud, "subscription": "s0", "extensions": [ama], **where}

    doc = {"regions": [{"name": "eastus"}, {"name": "12", "zones": 1}],
           "catalog": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent",
                        "versions": ["1.0", "1.1"]}],
           "scale_sets": [{"name": "sc0", "region": "eastus"}, {"name": "sc1", "region": "eastus"}],
           "availability_sets": [{"name": "av0", "region": "12"}],
           "vms": [vm("vm0", "eastus", 2, scale_set="sc0"), vm("vm1", "eastus", None, scale_set="sc0"),
                   vm("vm2", "eastus", 1, scale_set="sc1"), vm("vm3", "eastus", None),
                   vm("vm4", "12", 0, availability_set="av0")]}
    rules = (OrderBy("by_ud", span(1), key=Attr(("vm", "update_domain")), unit="wave"),
             DistinctLimit("one_region", span(2), limit=1, count="region", per="fleet"))
    return Policy(name="t", span=span(0), files=("x.wg",), rules=rules), parse_fleet(doc, "<test>")


def _split_last_wave(schedule: Schedule) -> Schedule:
    """The schedule with its last wave's first VM moved to a wave of its own (one wave longer, still valid)."""
    data = schedule.model_dump(mode="json")
    last = data["waves"][-1]
    vm = last["tasks"][0]["vm"]
    moved = [t for t in last["tasks"] if t["vm"] == vm]
    last["tasks"] = [t for t in last["tasks"] if t["vm"] != vm]
    data["waves"].append({**last, "index": len(data["waves"]), "tasks": moved})
    return Schedule.model_validate(data)


def test_a_wrong_lower_bound_of_the_planner_is_refused_not_shown() -> None:
    """The planner's answer before the fix (4 waves, "no schedule has fewer"), forged: CP-SAT refutes it."""
    pol, fleet = _ud_order_fleet()
    found = solve(pol.rules, fleet, due_tasks(pol, fleet), 3, 10)
    assert isinstance(found, Found)
    three = to_schedule(pol, fleet, due_tasks(pol, fleet), found)
    assert verify_schedule(pol, fleet, three).ok
    four = _split_last_wave(three).model_copy(update={"lower_bound": 4, "optimal": True, "certificate": None})
    assert len(four.waves) == 4 and verify_schedule(pol, fleet, four).ok
    with pytest.raises(CheckFailed, match="says no schedule has fewer than 4 waves, but OR-tools CP-SAT found a "
                                          "schedule of 3 waves that the independent checker accepts"):
        certify_schedule(pol, fleet, four, 10)


def test_the_planner_plans_the_update_domain_order_in_three_waves() -> None:
    """Regression (found by the second solver): untracked models named every order variable of a rule alike, so the
    orders 0 < 1 and 1 < 2 shared one variable and no 3-wave schedule seemed to exist."""
    pol, fleet = _ud_order_fleet()
    res = plan(pol, fleet, time_limit=20, certify_time=10)
    assert len(res.schedule.waves) == 3 and res.optimal


def _ext_order_fleet() -> tuple[Policy, Fleet]:
    """vm4 has due tasks health and ama, ama before health on each VM, waves ordered by update domain, regions eastus,
    12 and r-x in different phases: a 5-wave schedule exists (the planner said none does)."""
    from fractions import Fraction

    from dsl.policy import And, ExtensionOrder, ExtensionSelector, OrderBy, SeparateRegions, TrueP
    from engine.model.fleet import parse_fleet

    def e(name: str, pub: str, typ: str, version: str = "1.0") -> dict[str, object]:
        return {"name": name, "publisher": pub, "type": typ, "version": version, "enable_automatic_upgrade": True}

    ama = e("ama", "Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent")
    health = e("health", "Microsoft.ManagedServices", "ApplicationHealthLinux")
    da = e("da", "Microsoft.Azure.Monitoring.DependencyAgent", "DependencyAgentLinux")
    doc = {"regions": [{"name": "eastus"}, {"name": "westus", "zones": 1}, {"name": "r-x", "geography": "Europe"},
                       {"name": "12", "zones": 1, "geography": "Europe"}],
           "catalog": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent", "versions": ["1.0", "1.1"]},
                       {"publisher": "Microsoft.Azure.Monitoring.DependencyAgent", "type": "DependencyAgentLinux",
                        "versions": ["1.0", "1.1"]},
                       {"publisher": "Microsoft.ManagedServices", "type": "ApplicationHealthLinux", "versions": ["1.0", "1.1"]}],
           "scale_sets": [{"name": "sc0-eastus", "region": "eastus", "upgrade_mode": "rolling"},
                          {"name": "sc0-westus", "region": "westus"}],
           "availability_sets": [{"name": "av0-eastus", "region": "eastus"}, {"name": "av2-12", "region": "12"}],
           "vms": [{"name": "vm0", "region": "westus", "scale_set": "sc0-westus", "update_domain": 2, "subscription": "s0",
                    "healthy": False, "extensions": [ama]},
                   {"name": "vm1", "region": "eastus", "availability_set": "av0-eastus", "subscription": "s0",
                    "tags": {"env": "prod"}, "extensions": [ama]},
                   {"name": "vm2", "region": "eastus", "scale_set": "sc0-eastus", "update_domain": 1, "subscription": "s1",
                    "extensions": [health]},
                   {"name": "vm3", "region": "12", "zone": "1", "subscription": "s1", "extensions": [da]},
                   {"name": "vm4", "region": "12", "availability_set": "av2-12", "update_domain": 0, "fault_domain": 1,
                    "subscription": "s1", "tags": {"tier": ""}, "extensions": [health, {**da, "version": "1.1"}, ama]}]}
    where = And((Compare("!=", Attr(("scale_set", "size")), Fraction(5, 2)), TrueP()))
    rules = (OrderBy("by_ud", span(1), key=Attr(("vm", "update_domain")), unit="wave", where=where),
             SeparateRegions("apart", span(2), regions=("eastus", "12", "r-x"), within="phase"),
             ExtensionOrder("ama_first", span(3), first=ExtensionSelector(name="ama"),
                            second=ExtensionSelector(name="health")))
    return Policy(name="t", span=span(0), files=("x.wg",), rules=rules), parse_fleet(doc, "<test>")


def test_a_wrong_no_schedule_exists_of_the_planner_is_refused_not_shown() -> None:
    """The planner's answer before the fix ("no schedule exists"), forged: CP-SAT refutes it."""
    pol, fleet = _ext_order_fleet()
    dues = due_tasks(pol, fleet)
    found = solve(pol.rules, fleet, dues, None, 10)
    assert isinstance(found, Found) and verify_schedule(pol, fleet, to_schedule(pol, fleet, dues, found)).ok
    with pytest.raises(CheckFailed, match="says no schedule exists, but OR-tools CP-SAT found a schedule of "
                                          r"\d+ waves that the independent checker accepts"):
        confirm_infeasible(pol, fleet, Infeasible("forged: the planner's answer before the fix", (), ()), 10)


def test_the_planner_plans_the_extension_order_case() -> None:
    """Regression (found by the second solver): the same shared order variable made this fleet look infeasible."""
    pol, fleet = _ext_order_fleet()
    res = plan(pol, fleet, time_limit=20, certify_time=10)
    assert res.schedule.waves and verify_schedule(pol, fleet, res.schedule).ok


def test_a_fleet_wave_limit_below_the_coupled_bound_is_infeasible_not_a_timeout() -> None:
    """Regression: one VM per wave over the fleet, one wave in all, two regions of one VM each: each region alone
    plans, the coupled bound (2) exceeds the wave limit (1), and that is "no schedule exists" with both rules named
    and re-proved, not "no schedule found within the time limit"."""
    from dsl.policy import Capacity, Count, UnitLimit

    fleet = FleetBuilder().region("r1").region("r2").vm("a", "r1").vm("b", "r2").build()
    rules = (Capacity("cap", span(1), amount=Count(1), of="fleet", within="wave"),
             UnitLimit("one", span(2), limit=1, unit="wave", per="fleet"))
    pol = Policy(name="t", span=span(0), files=("x.wg",), rules=rules)
    with pytest.raises(Infeasible) as got:
        plan(pol, fleet, time_limit=20, certify_time=10)
    assert set(got.value.conflicting_rules) == {"cap", "one"}
    assert "re-proved by OR-tools CP-SAT" in got.value.explanation
