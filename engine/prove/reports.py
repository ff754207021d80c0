"""Output of ``wavegate prove`` for people and CI: text, JSON, JUnit XML and SARIF 2.1.0.

Every format lists the theorems in the order given (files sorted, theorems in file order) so the same input gives
the same bytes, except the measured times (JSON keeps them under ``seconds``; ``--no-times`` hides them in text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from dsl.diagnostics import Span
from engine.prove.results import TheoremResult

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MARK = {"proven": "✓", "refuted": "✗", "unknown": "✗", "vacuous": "✗"}
SARIF_RULES = {
    "refuted": ("WG-REFUTED", "Theorem refuted", "A counterexample (fleet + schedule or executor trace) breaks it."),
    "unknown": ("WG-UNKNOWN", "Theorem not proven", "The prover gave no answer; unknown never passes."),
    "vacuous": ("WG-VACUOUS", "Theorem vacuous", "The spec permits nothing of the claim's shape."),
}


def _where(span: Span | None) -> str:
    return span.render() if span is not None else "<no location>"


def summary(results: Sequence[TheoremResult]) -> str:
    counts = {k: sum(1 for r in results if r.status == k) for k in ("proven", "refuted", "unknown", "vacuous")}
    parts = [f"{v} {k}" for k, v in counts.items() if v]
    total = sum(r.seconds for r in results)
    return f"{len(results)} theorem(s): {', '.join(parts) or 'none'} in {total:.2f}s"


# ----------------------------------------------------------------------------------------------------------------
# Text


def counterexample_text(r: TheoremResult) -> list[str]:
    """A readable counterexample: the fleet in a few lines, then the schedule wave by wave (or the trace)."""
    cex = r.counterexample
    if cex is None:
        return []
    out = ["    counterexample:"]
    if cex.schedule is not None:
        fleet = cex.fleet
        for reg in fleet.get("regions", []):
            pair = f", paired with {reg['pair']}" if reg.get("pair") else ""
            zones = f", {reg['zones']} zones" if reg.get("zones") else ""
            geography = f", geography {reg['geography']}" if reg.get("geography") else ""
            out.append(f"      region {reg['name']}{geography}{zones}{pair}")
        sets: dict[str, list[str]] = {}
        singles: list[str] = []
        for vm in fleet.get("vms", []):
            key = vm.get("scale_set") or vm.get("availability_set")
            desc = vm["name"] + (f"@zone{vm['zone']}" if vm.get("zone") else "")
            (sets.setdefault(key, []) if key else singles).append(desc)
        for s in fleet.get("scale_sets", []):
            out.append(f"      scale set {s['name']} ({len(sets.get(s['name'], []))} VMs): "
                       + ", ".join(sets.get(s["name"], [])))
        for s in fleet.get("availability_sets", []):
            out.append(f"      availability set {s['name']} ({len(sets.get(s['name'], []))} VMs): "
                       + ", ".join(sets.get(s["name"], [])))
        if singles:
            out.append(f"      single VMs: {', '.join(singles)}")
        for w in cex.schedule.get("waves", []):
            names = ", ".join(f"{t['vm']} ({t['from_version']} -> {t['to_version']})" for t in w["tasks"])
            out.append(f"      wave {w['index']} (phase {w['phase']}): {names}")
        out.append(f"    why: {cex.explanation}")
        out += json_block("fleet JSON", cex.fleet, len(cex.fleet.get("vms", [])))
        out += json_block("schedule JSON", cex.schedule, sum(len(w["tasks"]) for w in cex.schedule.get("waves", [])))
    else:
        scenario = cex.fleet.get("fleet")
        if isinstance(scenario, dict):
            vms = scenario.get("vms", [])
            down = [v["name"] for v in vms if not v.get("healthy", True)]
            out.append(f"      replayed by the executor: scale set of {len(vms)} VMs"
                       + (f", unhealthy from the start: {', '.join(down)}" if down else ""))
            for w in cex.fleet.get("schedule", {}).get("waves", []):
                bad = [t["vm"] for t in w["tasks"] if _is_bad(scenario, t["vm"])]
                out.append(f"      wave {w['index']}: {', '.join(t['vm'] for t in w['tasks'])}"
                           + (f" (new version fails health on {', '.join(bad)})" if bad else ""))
            if cex.fleet.get("faults"):
                out += json_block("fault script JSON", cex.fleet["faults"], 1)
        if cex.trace and "event" in cex.trace[0]:
            out.append("      executor events:")
            out += [f"      {st['time_minutes']:>8g} min  {st['event']}" + (f" {st['vm']}" if st.get("vm") else "")
                    for st in cex.trace]
        else:
            out.append(f"      set of {cex.fleet.get('set_size')} VMs; model trace:")
        for st in (s for s in cex.trace if "event" not in s):
            out.append(f"      step {st['step']} {st['action']:<6} unhealthy={st['u']} upgraded={st['m']} "
                       f"upgraded-unhealthy={st['uu']} pending={st['pend']} batch={st['b']}"
                       + (" STARTED" if st.get("started") else "") + (" stopped" if st.get("stopped") else ""))
        out.append(f"    why: {cex.explanation}")
    return out


SHOWN_JSON_ITEMS = 60  # larger counterexamples are summarised in text; --format json has them whole


def compact_json(doc: Any) -> list[str]:
    """JSON a person can scan: one line per top-level field, one line per element of a top-level list."""
    if not isinstance(doc, dict):
        return json.dumps(doc, indent=2).splitlines()
    out = ["{"]
    keys = list(doc)
    for i, k in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        v = doc[k]
        if isinstance(v, list) and v:
            out.append(f"  {json.dumps(k)}: [")
            out += [f"    {json.dumps(x)}{',' if j < len(v) - 1 else ''}" for j, x in enumerate(v)]
            out.append(f"  ]{comma}")
        else:
            out.append(f"  {json.dumps(k)}: {json.dumps(v)}{comma}")
    out.append("}")
    return out


def json_block(title: str, doc: Any, items: int) -> list[str]:
    if items > SHOWN_JSON_ITEMS:
        return [f"    {title}: {items} items, too long to show here (use --format json)"]
    return [f"    {title}:", *("      " + line for line in compact_json(doc))]


def _is_bad(fleet: dict[str, Any], vm: str) -> bool:
    return any(v["name"] == vm and v["extensions"] and v["extensions"][0]["type"].endswith("Bad")
               for v in fleet.get("vms", []))


def render_text(results: Sequence[TheoremResult], times: bool = True) -> str:
    lines: list[str] = []
    for r in results:
        t = f" ({r.seconds:.2f}s)" if times else ""
        lines.append(f"{MARK[r.status]} {_where(r.span)}: {r.name}: {r.status} — {r.scope}{t}")
        if r.message:
            lines.append(f"    {r.message}")
        for o in r.obligations:
            lines.append(f"    {'PASS' if o.ok else 'FAIL'} {o.name}: {o.detail}")
        if r.status != "proven":
            for name, span in r.rules:
                lines.append(f"    rule involved: {name} at {span.render()}")
        lines += counterexample_text(r)
    lines.append(summary(results))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# JSON


def result_json(r: TheoremResult) -> dict[str, Any]:
    cex = r.counterexample
    return {
        "name": r.name,
        "status": r.status,
        "scope": r.scope,
        "for_all_sizes": r.scope.startswith("for all"),
        "seconds": r.seconds,
        "location": r.span.to_json() if r.span is not None else None,
        "spec": r.spec_name,
        "message": r.message,
        "rules": [{"name": n, "location": s.to_json()} for n, s in r.rules],
        "obligations": [{"name": o.name, "result": "PASS" if o.ok else "FAIL", "detail": o.detail}
                        for o in r.obligations],
        "counterexample": None if cex is None else {
            "fleet": cex.fleet, "schedule": cex.schedule, "trace": list(cex.trace), "explanation": cex.explanation,
        },
    }


def render_json(results: Sequence[TheoremResult]) -> str:
    doc = {
        "ok": all(r.ok for r in results),
        "summary": summary(results),
        "theorems": [result_json(r) for r in results],
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# JUnit XML


def render_junit(results: Sequence[TheoremResult]) -> str:
    failures = sum(1 for r in results if r.status in ("refuted", "vacuous"))
    errors = sum(1 for r in results if r.status == "unknown")
    total = sum(r.seconds for r in results)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="wavegate prove" tests="{len(results)}" failures="{failures}" errors="{errors}" '
           f'time="{total:.3f}">']
    by_file: dict[str, list[TheoremResult]] = {}
    for r in results:
        by_file.setdefault(r.span.file if r.span is not None else "<unknown>", []).append(r)
    for file, rs in by_file.items():
        f = sum(1 for r in rs if r.status in ("refuted", "vacuous"))
        e = sum(1 for r in rs if r.status == "unknown")
        out.append(f'  <testsuite name={quoteattr(file)} tests="{len(rs)}" failures="{f}" errors="{e}" '
                   f'time="{sum(r.seconds for r in rs):.3f}">')
        for r in rs:
            attrs = (f'name={quoteattr(r.name)} classname={quoteattr(file)} time="{r.seconds:.3f}" '
                     f'file={quoteattr(file)} line="{r.span.line if r.span else 0}"')
            if r.status == "proven":
                out.append(f"    <testcase {attrs}>")
                out.append(f"      <system-out>{escape(r.scope + ': ' + r.message)}</system-out>")
                out.append("    </testcase>")
                continue
            body = "\n".join([r.message, *counterexample_text(r)])
            tag = "error" if r.status == "unknown" else "failure"
            out.append(f"    <testcase {attrs}>")
            out.append(f"      <{tag} message={quoteattr(f'{r.status}: {r.message}')} type={quoteattr(r.status)}>"
                       f"{escape(body)}</{tag}>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# SARIF 2.1.0


def sarif_uri(file: str, base: Path | None = None) -> str:
    """Paths under ``base`` (the working folder) relative to it, as code-scanning views expect; others as file URIs."""
    p = Path(file)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.relative_to((base or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return p.as_uri()


def _sarif_location(span: Span, message: str | None = None, ident: int | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": sarif_uri(span.file)},
            "region": {"startLine": max(1, span.line), "startColumn": max(1, span.column),
                       "endLine": max(1, span.end_line), "endColumn": max(1, span.end_column)},
        }
    }
    if message is not None:
        loc["message"] = {"text": message}
    if ident is not None:
        loc["id"] = ident
    return loc


def render_sarif(results: Sequence[TheoremResult], version: str = "0.1.0") -> str:
    """One SARIF result per refuted, unknown or vacuous theorem, located at the theorem and at the rule involved."""
    rules = [
        {"id": rid, "name": name.replace(" ", ""), "shortDescription": {"text": name},
         "fullDescription": {"text": full}, "defaultConfiguration": {"level": "error"}}
        for rid, name, full in SARIF_RULES.values()
    ]
    index = {status: i for i, status in enumerate(SARIF_RULES)}
    sarif_results = []
    for r in results:
        if r.status == "proven":
            continue
        rid = SARIF_RULES[r.status][0]
        locations = []
        if r.span is not None:
            locations.append(_sarif_location(r.span, f"theorem {r.name}"))
        related = []
        for i, (name, span) in enumerate(r.rules):
            locations.append(_sarif_location(span, f"spec rule {name}"))
            related.append(_sarif_location(span, f"spec rule {name}", ident=i))
        res: dict[str, Any] = {
            "ruleId": rid,
            "ruleIndex": index[r.status],
            "level": "error",
            "message": {"text": f"theorem {r.name} is {r.status}: {r.message}"},
            "locations": locations,
            "partialFingerprints": {"theorem": f"{r.span.file if r.span else ''}:{r.name}"},
            "properties": {"status": r.status, "scope": r.scope, "seconds": r.seconds},
        }
        if related:
            res["relatedLocations"] = related
        if r.counterexample is not None:
            res["properties"]["counterexample"] = {
                "fleet": r.counterexample.fleet, "schedule": r.counterexample.schedule,
                "trace": list(r.counterexample.trace),
            }
        sarif_results.append(res)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "wavegate", "version": version, "semanticVersion": version,
                                "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": sarif_results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


def render(results: Sequence[TheoremResult], fmt: str, times: bool = True) -> str:
    if fmt == "json":
        return render_json(results)
    if fmt == "junit":
        return render_junit(results)
    if fmt == "sarif":
        return render_sarif(results)
    return render_text(results, times)
