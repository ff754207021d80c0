"""`wavegate prove`: each result kind, counterexample replay, vacuity, exit codes, and issue 5's "done when"."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsl.diagnostics import Span
from dsl.loader import load_policy, load_theorems
from dsl.policy import Attr, Capacity, Compare, Count, OrderBy, Percent, Policy, Theorem
from engine.check.verify import verify_schedule
from engine.cli import app
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.prove.kinds import CLAIMS
from engine.prove.kinds.base import Encoding
from engine.prove.kinds.group import CapacityClaim
from engine.prove.prover import claim_policy, prove_claim, prove_theorem

ROOT = Path(__file__).resolve().parent.parent
SPAN = Span("t.wg", 1, 1, 1, 2)
CLAIM_20 = Capacity("batch_20", SPAN, amount=Percent(Fraction(20)), of="scale_set", within="wave",
                    where=Compare(">=", Attr(("scale_set", "size")), 5))


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(ROOT / "specs" / "azure-default.wg", ROOT)


@pytest.fixture(scope="module")
def loose() -> Policy:
    spec = load_policy(ROOT / "specs" / "azure-default.wg", ROOT)
    rules = tuple(replace(r, amount=replace(r.amount, value=Fraction(50)))
                  if isinstance(r, Capacity) and isinstance(r.amount, Percent) else r for r in spec.rules)
    return replace(spec, rules=rules)


def test_every_default_theorem_is_proven_with_its_scope() -> None:
    tf = load_theorems(ROOT / "proofs" / "azure-default.wg", ROOT)
    results = [prove_theorem(tf.spec, t, 20.0) for t in tf.theorems]
    assert len(results) >= 7
    for r in results:
        assert r.status == "proven", (r.name, r.message)
        assert r.scope.startswith("for all"), r.scope
        assert r.span is not None and r.span.file.endswith("azure-default.wg")
    exec_results = [r for r in results if r.name.startswith("exec_")]
    assert exec_results
    for r in exec_results:
        assert [o.name for o in r.obligations] == ["initiation", "consecution", "safety"]
        assert all(o.ok for o in r.obligations)


def test_refuted_counterexample_replays_through_the_checker(loose: Policy) -> None:
    out = prove_claim(loose, CLAIM_20, 20.0)
    assert out.status == "refuted"
    cex = out.counterexample
    assert cex is not None and cex.schedule is not None
    fleet = parse_fleet(cex.fleet)
    schedule = parse_schedule(cex.schedule)
    assert verify_schedule(loose, fleet, schedule).ok  # permitted by the (loosened) spec
    assert not verify_schedule(claim_policy(loose, CLAIM_20), fleet, schedule).ok  # breaks the claim
    # Minimal: a scale set of 5 (the claim's threshold) with 2 VMs in one wave.
    assert len(fleet.vms) == 5 and len(schedule.waves[0].tasks) == 2


def test_proven_needs_the_rule(default: Policy) -> None:
    assert prove_claim(default, CLAIM_20, 20.0).status == "proven"
    no_cap = replace(default, rules=tuple(r for r in default.rules if not isinstance(r, Capacity)))
    assert prove_claim(no_cap, CLAIM_20, 20.0).status == "refuted"


def test_vacuous_when_the_spec_permits_nothing_of_the_claims_shape(default: Policy) -> None:
    nothing = Capacity("nothing", SPAN, amount=Count(0), of="scale_set", within="wave")
    spec = replace(default, rules=(*default.rules, nothing))
    out = prove_claim(spec, CLAIM_20, 20.0)
    assert out.status == "vacuous"
    assert "nothing" in out.message or "permits no" in out.message


def test_unknown_when_there_is_no_encoding(default: Policy) -> None:
    claim = OrderBy("rings", SPAN)
    out = prove_claim(default, claim, 5.0)
    assert out.status in ("unknown", "refuted")  # never proven without an encoding
    assert out.status != "proven"


def test_unknown_when_the_time_limit_is_spent(default: Policy) -> None:
    out = prove_claim(default, CLAIM_20, 1e-9)
    assert out.status == "unknown"


class ForgetfulCapacity(CapacityClaim):
    """An encoding that forgot every premise of the spec."""

    def encode(self, spec: Policy, claim: Capacity) -> Encoding:
        return replace(super().encode(spec, claim), premises=[])


def test_a_broken_encoding_never_yields_a_false_refutation(default: Policy) -> None:
    out = prove_claim(default, CLAIM_20, 20.0, kinds={**CLAIMS, Capacity: ForgetfulCapacity()})
    assert out.status == "unknown"
    assert "did not replay" in out.message


def test_theorem_result_carries_span_and_rules(loose: Policy) -> None:
    theorem = Theorem("batch_20", SPAN, claim=CLAIM_20)
    r = prove_theorem(loose, theorem, 20.0)
    assert r.status == "refuted" and r.span == SPAN
    assert "ss_batch" in [name for name, _ in r.rules]  # (the distinct-value rules are premises too)


# ----------------------------------------------------------------------------------------------------------------
# The command line


runner = CliRunner()


def _project(tmp_path: Path, transform: str | None = None) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "proofs").mkdir()
    text = (ROOT / "specs" / "azure-default.wg").read_text()
    if transform == "50":
        text = text.replace("20%", "50%")
    (tmp_path / "specs" / "azure-default.wg").write_text(text)
    shutil.copy(ROOT / "proofs" / "azure-default.wg", tmp_path / "proofs" / "azure-default.wg")
    return tmp_path


def test_cli_prove_default_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    res = runner.invoke(app, ["prove"])
    assert res.exit_code == 0, res.output
    assert res.output.count("✓") >= 7 and "✗" not in res.output
    assert "for all fleet sizes" in res.output and "PASS consecution" in res.output


def test_done_when_every_20_becomes_50(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 5: a copy of the default spec where every 20% becomes 50% is refuted with a readable counterexample
    fleet and schedule, and `wavegate diff` on the two says looser."""
    monkeypatch.chdir(_project(tmp_path, "50"))
    res = runner.invoke(app, ["prove"])
    assert res.exit_code == 1, res.output
    assert "✗ proofs/azure-default.wg:5:1: batch_at_most_20_percent: refuted" in res.output
    assert "counterexample" in res.output
    assert "scale set ss0 (5 VMs)" in res.output and "wave 0 (phase 0): vm0-0 (1.0 -> 1.1), vm0-1" in res.output
    assert '"vms": [' in res.output and '"waves": [' in res.output  # fleet JSON and schedule JSON
    assert "rule involved: ss_batch at specs/azure-default.wg" in res.output
    assert "exec_precheck: refuted" in res.output and "replayed by the executor" in res.output
    diff = runner.invoke(app, ["diff", str(ROOT / "specs" / "azure-default.wg"), "specs/azure-default.wg"])
    assert diff.exit_code == 1, diff.output
    assert diff.output.splitlines()[0] == "looser"
    assert "distinguishing fleet" in diff.output


def test_cli_prove_json_and_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path, "50"))
    res = runner.invoke(app, ["prove", "--format", "json", "-o", "out.json"])
    assert res.exit_code == 1
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["ok"] is False
    by_name = {t["name"]: t for t in doc["theorems"]}
    assert by_name["batch_at_most_20_percent"]["status"] == "refuted"
    assert by_name["batch_at_most_20_percent"]["counterexample"]["fleet"]["vms"]
    assert by_name["geo_pairs_apart"]["status"] == "proven"
    assert by_name["geo_pairs_apart"]["for_all_sizes"] is True


def test_cli_prove_bad_input_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    (tmp_path / "proofs" / "broken.wg").write_text('theorems about "../specs/azure-default.wg"\ntheorem x: at most\n')
    res = runner.invoke(app, ["prove", "--format", "json", "-o", "never.json"])
    assert res.exit_code == 2
    assert "broken.wg:2" in res.output
    assert not (tmp_path / "never.json").exists()  # nothing half-written
    assert runner.invoke(app, ["prove", "no/such/file.wg"]).exit_code == 2


def test_every_bundled_proof_file_is_proven() -> None:
    """The project's own gate: every theorem of proofs/ (one file per spec in specs/) is proven."""
    specs = {p.name for p in (ROOT / "specs").glob("*.wg")}
    proofs = sorted((ROOT / "proofs").glob("*.wg"))
    assert specs <= {p.name for p in proofs}
    res = runner.invoke(app, ["prove", *map(str, proofs), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["ok"] and all(t["status"] == "proven" for t in doc["theorems"])


def test_bundled_proofs_prove_in_the_wheel_layout(tmp_path: Path) -> None:
    """Installed from a wheel, proofs/ and specs/ are engine/bundled/proofs and engine/bundled/specs."""
    import subprocess
    import sys

    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    for pkg in ("dsl", "engine"):
        shutil.copytree(ROOT / pkg, site / pkg, ignore=ignore)
    shutil.copytree(ROOT / "proofs", site / "engine" / "bundled" / "proofs", ignore=ignore)
    shutil.copytree(ROOT / "specs", site / "engine" / "bundled" / "specs", ignore=ignore)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    code = "import sys; from engine.cli import main; sys.argv = ['wavegate', 'prove', '--no-times']; main()"
    res = subprocess.run([sys.executable, "-c", code], cwd=cwd, env={"PYTHONPATH": str(site), "PATH": ""},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "engine/bundled/proofs/azure-default.wg:5:1: batch_at_most_20_percent: proven" in res.stdout
