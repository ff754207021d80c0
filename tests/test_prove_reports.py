"""Report formats of `wavegate prove`: SARIF 2.1.0 validated against the OASIS schema, JUnit XML, JSON, text."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from dsl.diagnostics import Span
from dsl.loader import load_policy
from dsl.policy import (
    Attr,
    Capacity,
    Compare,
    OrderBy,
    Percent,
    Policy,
    SeparatePairs,
    StopUpgradedGate,
    Theorem,
)
from engine.prove.prover import prove_theorem
from engine.prove.reports import render_json, render_junit, render_sarif, render_text
from engine.prove.results import TheoremResult

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "prove_data" / "sarif-schema-2.1.0.json").read_text())
SPAN = Span("proofs/x.wg", 4, 1, 4, 30)


@pytest.fixture(scope="module")
def results() -> list[TheoremResult]:
    spec: Policy = load_policy(ROOT / "specs" / "azure-default.wg", ROOT)
    loose = replace(spec, rules=tuple(replace(r, amount=replace(r.amount, value=Fraction(50)))
                                      if isinstance(r, Capacity) and isinstance(r.amount, Percent) else r
                                      for r in spec.rules),
                    gates=tuple(replace(g, cap=Percent(Fraction(50))) if isinstance(g, StopUpgradedGate) else g
                                for g in spec.gates))
    theorems = [
        Theorem("batch", SPAN, claim=Capacity("batch", SPAN, amount=Percent(Fraction(20)), of="scale_set",
                                              within="wave", where=Compare(">=", Attr(("scale_set", "size")), 5))),
        Theorem("pairs", replace(SPAN, line=6), claim=SeparatePairs("pairs", SPAN)),
        Theorem("rings", replace(SPAN, line=8), claim=OrderBy("rings", SPAN)),
        Theorem("upgraded", replace(SPAN, line=10), claim=StopUpgradedGate("upgraded", SPAN)),
    ]
    return [prove_theorem(loose, t, 20.0) for t in theorems]


def test_statuses_of_the_fixture(results: list[TheoremResult]) -> None:
    assert [r.status for r in results][:2] == ["refuted", "proven"]
    assert results[2].status != "proven"
    assert results[3].status == "refuted" and results[3].counterexample is not None


def test_sarif_is_valid_sarif_2_1_0(results: list[TheoremResult]) -> None:
    doc = json.loads(render_sarif(results))
    jsonschema.validate(doc, SCHEMA)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    # One result per theorem that did not pass; none for the proven one.
    assert len(run["results"]) == sum(1 for r in results if r.status != "proven")
    first = run["results"][0]
    assert first["level"] == "error" and first["ruleId"] == "WG-REFUTED"
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in first["locations"]]
    assert uris[0] == "proofs/x.wg" and any(u.endswith("specs/azure-default.wg") for u in uris[1:])
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert "spec rule ss_batch" in [loc["message"]["text"] for loc in first["relatedLocations"]]
    assert first["properties"]["counterexample"]["fleet"]["vms"]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {res["ruleId"] for res in run["results"]} <= rule_ids


def test_sarif_schema_rejects_a_broken_document(results: list[TheoremResult]) -> None:
    doc = json.loads(render_sarif(results))
    del doc["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_junit_xml(results: list[TheoremResult]) -> None:
    root = ET.fromstring(render_junit(results))
    assert root.tag == "testsuites"
    assert root.attrib["tests"] == "4"
    cases = root.findall("./testsuite/testcase")
    assert [c.attrib["name"] for c in cases] == ["batch", "pairs", "rings", "upgraded"]
    assert cases[0].find("failure") is not None and "counterexample" in (cases[0].find("failure").text or "")
    assert cases[1].find("failure") is None and cases[1].find("error") is None
    assert cases[2].find("error") is not None or cases[2].find("failure") is not None
    assert cases[0].attrib["line"] == "4"


def test_json_and_text(results: list[TheoremResult]) -> None:
    doc = json.loads(render_json(results))
    assert doc["ok"] is False
    assert [t["status"] for t in doc["theorems"]][:2] == ["refuted", "proven"]
    text = render_text(results, times=False)
    assert text.splitlines()[0].startswith("✗ proofs/x.wg:4:1: batch: refuted")
    assert "✓ proofs/x.wg:6:1: pairs: proven" in text
    assert "replayed by the executor" in text and "STARTED" in text
    assert render_text(results, times=False) == render_text(results, times=False)
