"""load_policy / check_text / load_theorems: the IR the specs mean, extends, params, and absurd input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from dsl import policy as ir
from dsl.diagnostics import Span
from dsl.loader import check_file, check_text, load_policy, load_theorems
from dsl.parser import MAX_BYTES, parse_duration
from engine.model.errors import InputError

ROOT = Path(__file__).parent.parent
SPECS = ROOT / "specs"
CORPUS = Path(__file__).parent / "corpus"


def fields(obj: object) -> tuple[object, ...]:
    """A rule without its span, for comparing meaning."""
    d = dict(vars(obj))
    d.pop("span", None)
    return (type(obj).__name__, tuple(sorted(d.items())))


def strip(objs: tuple[object, ...]) -> list[tuple[object, ...]]:
    return [fields(o) for o in objs]


S = Span("x", 1, 1, 1, 1)


def test_azure_default_means_the_reference() -> None:
    p = load_policy(SPECS / "azure-default.wg")
    assert p.name == "azure_default"
    assert p.files == (str(Path(SPECS / "azure-default.wg")),)
    twenty = ir.Percent(Fraction(20))
    assert strip(p.rules) == strip(
        (
            ir.SeparatePairs("geo_pairs", S, within="phase"),
            ir.DistinctLimit("one_zone", S, limit=1, count="zone", per="region", within="wave"),
            ir.DistinctLimit("ss_domains", S, limit=1, count="update_domain", per="scale_set", within="wave"),
            ir.Capacity("ss_batch", S, amount=ir.Percent(Fraction(20), "floor", 1), of="scale_set", within="wave"),
            ir.DistinctLimit("as_domains", S, limit=1, count="update_domain", per="availability_set", within="wave"),
            ir.NotWhole("as_not_whole", S, of="availability_set", within="wave", min_size=2),
        )
    )
    single = ir.Compare("==", ir.Attr(("vm", "single")), True)
    assert strip(p.preferences) == strip((ir.Spread("spread_single", S, ("subscription", "region"), single, 1),))
    assert strip(p.gates) == strip(
        (
            ir.PrecheckGate("precheck", S, of="scale_set", cap=twenty),
            ir.HealthWaitGate("health", S, wait=ir.Duration(300), on_timeout="rollback"),
            ir.StopUpgradedGate("stop_upgraded", S, of="scale_set", cap=twenty),
            ir.StopUnhealthyGate("stop_unhealthy", S, of="scale_set", cap=twenty),
            ir.PhaseGate("phases", S),
            ir.RetryGate("retry", S, after=ir.Duration(3 * 86400), max_attempts=3),
        )
    )
    assert (p.versions.only_enabled, p.versions.allow_major, p.versions.pins, p.versions.opt_outs) == (
        True,
        False,
        (),
        (),
    )
    # Every statement keeps the span of its own text, in its own file.
    text = (SPECS / "azure-default.wg").read_text().split("\n")
    for r in (*p.rules, *p.preferences, *p.gates):
        assert r.span.file == p.files[0]
        assert text[r.span.line - 1].startswith(("rule ", "prefer ", "gate ")) and f" {r.name}:" in text[r.span.line - 1]


def test_team_strict_tightens_the_default() -> None:
    p = load_policy(SPECS / "team-strict.wg")
    assert [Path(f).name for f in p.files] == ["team-strict.wg", "azure-default.wg"]
    assert p.params["batch_cap"] == Fraction(10)
    ss_batch = p.rule("ss_batch")
    assert isinstance(ss_batch, ir.Capacity) and ss_batch.amount == ir.Percent(Fraction(10), "floor", 1)
    # The parent's rule keeps its own span (it is the parent's text), with the child's param value.
    assert Path(ss_batch.span.file).name == "azure-default.wg"
    assert p.rule("canary") is not None and isinstance(p.rule("canary"), ir.Canary)
    per_phase = p.rule("regions_per_phase")
    assert isinstance(per_phase, ir.DistinctLimit)
    assert (per_phase.count, per_phase.per, per_phase.within, per_phase.limit) == ("region", "fleet", "phase", 4)
    sub = p.rule("subscription_budget")
    assert isinstance(sub, ir.Capacity) and sub.of == "subscription"
    cap = p.rule("fleet_cap")
    assert isinstance(cap, ir.Capacity) and (cap.amount, cap.of) == (ir.Count(2000), "fleet")
    health = p.rule("health")
    assert isinstance(health, ir.HealthWaitGate) and health.wait == ir.Duration(600)
    # Parent rules come first, child rules after.
    names = [r.name for r in p.rules]
    assert names.index("geo_pairs") < names.index("canary")
    assert [o.selector.type for o in p.versions.opt_outs] == ["AzureMonitorLinuxAgent"]


def test_child_replaces_by_name_and_overrides_params() -> None:
    res = check_file(CORPUS / "valid" / "child.wg", CORPUS)
    assert res.policy is not None, res.diagnostics
    p = res.policy
    ss = p.rule("ss_batch")
    assert isinstance(ss, ir.Capacity) and ss.amount == ir.Percent(Fraction(10), "floor", 1)
    watch = p.rule("watch")
    assert isinstance(watch, ir.HealthWaitGate) and (watch.wait, watch.on_timeout) == (ir.Duration(7200), "keep")
    assert len(p.gates) == 1
    assert [r.name for r in p.rules] == ["ss_batch", "one_zone"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("90s", 90), ("2h", 7200), ("3d", 259200), ("1h30m", 5400), ("PT5M", 300), ("P3D", 259200),
     ("PT1H30M", 5400), ("PT30S", 30), ("P1W", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    policy, diags = check_text(f"policy p\ngate h: after a batch wait up to {text} for health\n", "d.wg")
    assert policy is not None, diags
    gate = policy.gates[0]
    assert isinstance(gate, ir.HealthWaitGate) and gate.wait == ir.Duration(seconds)


def test_percent_is_exact() -> None:
    policy, _ = check_text("policy p\nrule a: at most 12.5% (ceil) of a zone per wave\n", "p.wg")
    assert policy is not None
    rule = policy.rules[0]
    assert isinstance(rule, ir.Capacity) and rule.amount == ir.Percent(Fraction(25, 2), "ceil", 0)


def test_where_predicates() -> None:
    text = (
        "policy p\nrule a: at most 1 zone per region per wave where "
        '(vm.tags.env == "prod" or has tag "x") and not vm.single and vm.region in ["eastus", "westus"]\n'
    )
    policy, diags = check_text(text, "p.wg")
    assert policy is not None, diags
    rule = policy.rules[0]
    assert isinstance(rule, ir.DistinctLimit)
    assert rule.where == ir.And(
        (
            ir.Or((ir.Compare("==", ir.Attr(("vm", "tags", "env")), "prod"), ir.HasTag("x"))),
            ir.Not(ir.Compare("==", ir.Attr(("vm", "single")), True)),
            ir.Compare("in", ir.Attr(("vm", "region")), ("eastus", "westus")),
        )
    )


def test_unit_limits_and_orders() -> None:
    text = (
        "policy p\nrule w: at most 4 waves\nrule r: at most 3 waves per region\nrule ph: at most 6 phases\n"
        'rule o: region "eastus" before region "westus"\nrule t: order waves by tag "ring" descending\n'
    )
    policy, diags = check_text(text, "p.wg")
    assert policy is not None, diags
    w, r, ph, o, t = policy.rules
    assert (w, r, ph) == (
        ir.UnitLimit("w", w.span, 4, "wave", "fleet"),
        ir.UnitLimit("r", r.span, 3, "wave", "region"),
        ir.UnitLimit("ph", ph.span, 6, "phase", "fleet"),
    )
    assert o == ir.Order("o", o.span, ir.Compare("==", ir.Attr(("vm", "region")), "eastus"),
                         ir.Compare("==", ir.Attr(("vm", "region")), "westus"), "phase")
    assert t == ir.OrderBy("t", t.span, ir.Attr(("vm", "tags", "ring")), "wave", True)


def test_load_policy_raises_input_error_with_sources(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wg"
    bad.write_text("policy p\nrule a: at most 1 zone per regoin per wave\n")
    with pytest.raises(InputError) as info:
        load_policy(bad)
    err = info.value
    assert [d.code for d in err.diagnostics] == ["E205"]
    assert str(bad) in err.sources
    assert "^^^^^^" in str(err) and "did you mean `region`" in str(err)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_policy(tmp_path / "nope.wg")
    assert [d.code for d in info.value.diagnostics] == ["E001"]


def test_huge_file(tmp_path: Path) -> None:
    big = tmp_path / "big.wg"
    big.write_bytes(b"policy p\n" + b"# x\n" * (MAX_BYTES // 4 + 10))
    with pytest.raises(InputError) as info:
        load_policy(big)
    assert [d.code for d in info.value.diagnostics] == ["E004"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("policy p\nrule a: at most 3 waves # " + "x" * 1_000_000, "E004"),
        ("policy p\nrule a: at most 3 waves where " + "(\n" * 5000 + "vm.single" + ")\n" * 5000, "E006"),
        ("policy p\nrule a: at most 3 waves where " + "(" * 3000 + "vm.single" + ")" * 3000, "E005"),
        ("policy p\n" + "x" * 50_000, "E005"),
        ("\x00\x01\x02binary", "E003"),
    ],
    ids=["1MB line", "5000 nested parens", "3000 parens on a line", "50k line", "binary"],
)
def test_absurd_text_gets_a_diagnostic(text: str, code: str) -> None:
    policy, diags = check_text(text, "absurd.wg")
    assert policy is None
    assert [d.code for d in diags] == [code]


def test_non_utf8_file(tmp_path: Path) -> None:
    f = tmp_path / "latin1.wg"
    f.write_bytes("policy p\n# café\n".encode("latin-1"))
    res = check_file(f)
    assert [d.code for d in res.diagnostics] == ["E002"]
    assert res.diagnostics[0].location == Span(str(f), 2, 6, 2, 7)


def test_extends_may_not_escape_root(tmp_path: Path) -> None:
    (tmp_path / "base.wg").write_text("policy base\nrule w: at most 9 waves\n")
    team = tmp_path / "team"
    team.mkdir()
    (team / "t.wg").write_text('policy t\nextends "../base.wg"\n')
    with pytest.raises(InputError) as info:
        load_policy(team / "t.wg")
    assert [d.code for d in info.value.diagnostics] == ["E212"]
    p = load_policy(team / "t.wg", project_root=tmp_path)
    assert [r.name for r in p.rules] == ["w"]
    assert p.files == (str(team / "t.wg"), str(tmp_path / "base.wg"))


def test_self_extension_is_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.wg").write_text('policy a\nextends "a.wg"\n')
    with pytest.raises(InputError) as info:
        load_policy(tmp_path / "a.wg")
    assert [d.code for d in info.value.diagnostics] == ["E211"]


def test_theorem_file_loads_with_its_spec() -> None:
    tf = load_theorems(CORPUS / "valid" / "theorems.wg", CORPUS)
    assert tf.spec.name == "base"
    claims = {t.name: t.claim for t in tf.theorems}
    assert claims["no_major"] == ir.VersionClaim("no_major")
    assert claims["rollback"] == ir.VersionClaim("rollback_restores")
    assert isinstance(claims["exec_upgraded"], ir.StopUpgradedGate)
    assert isinstance(claims["exec_precheck"], ir.PrecheckGate)
    assert isinstance(claims["batch"], ir.Capacity)
    assert isinstance(claims["whole"], ir.NotWhole) and claims["whole"].min_size == 2
    assert all(t.spec_path == tf.spec_path for t in tf.theorems)


def test_project_proofs_load() -> None:
    for f in sorted((ROOT / "proofs").glob("*.wg")):
        tf = load_theorems(f)
        assert tf.theorems


def test_theorem_file_is_not_a_policy() -> None:
    with pytest.raises(InputError) as info:
        load_policy(CORPUS / "valid" / "theorems.wg", CORPUS)
    assert [d.code for d in info.value.diagnostics] == ["E217"]
    with pytest.raises(InputError) as info:
        load_theorems(SPECS / "azure-default.wg")
    assert [d.code for d in info.value.diagnostics] == ["E201"]


def test_all_errors_of_a_file_in_one_run() -> None:
    text = (
        "policy p\nrule a: at most 150% of a scale_set per wave\nrule b: at most 1 zone per regoin per wave\n"
        "gate h: after a batch wait up to 5 for health\nrule c: at most 0 VMs per wave\n"
    )
    policy, diags = check_text(text, "m.wg")
    assert policy is None
    assert [d.code for d in diags] == ["E209", "E205", "E208", "E210"]
    assert [d.location.line for d in diags if isinstance(d.location, Span)] == [2, 3, 4, 5]


def test_warnings_do_not_block() -> None:
    policy, diags = check_text("policy p\nparam unused = 3\nrule a: at most 3 waves\n", "w.wg")
    assert policy is not None
    assert [d.code for d in diags] == ["W303"]
