"""The risk report: the distribution of the scenario outcomes, as one screen of text or as JSON for pipelines.

P(halt) comes with a 95% Wilson score interval (right at 0 and N halts, unlike the normal approximation); finish-time
percentiles are nearest-rank (an observed scenario's time, no interpolation); every number is computed from the
outcomes in scenario order and printed with a fixed precision, so equal outcomes print equal bytes.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsl.policy import Policy
from engine.model.calendar import format_instant, parse_instant
from engine.risk.outcomes import ScenarioOutcome, results_digest

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal
SHOWN_CAUSES = 8
SHOWN_REGIONS = 6
SHOWN_GROUPS = 5
HISTOGRAM_BINS = 20  # finish-time bins in the JSON (the report draws them)
SHOWN_WORST = 5
WIDTH = 100  # text lines wrap here
# Task end states that halt a run without a halted set, and the gate class whose rule they name.
TASK_CAUSES = {"failed": ("failed after retries", "RetryGate"), "unhealthy_vm": ("VM never healthy", "RetryGate"),
               "refused": ("major version refused", None), "kept_unhealthy": ("kept unhealthy", "HealthWaitGate")}


@dataclass(frozen=True)
class RiskContext:
    """What the report says about its inputs."""

    policy: Policy
    fleet_name: str
    model_name: str
    waves: int
    tasks: int
    seed: int
    nominal_seconds: int
    replay: str  # the simulate command line that replays a scenario, without --seed
    start: str | None = None  # the schedule's calendar start (UTC), when it has one: second 0 of the virtual clock


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def nearest_rank(sorted_values: Sequence[int], pct: float) -> int:
    """The nearest-rank percentile: the smallest value with at least pct% of the values at or below it."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def duration_text(seconds: int) -> str:
    """Virtual seconds as "2d 3h 4m" (minutes rounded)."""
    m = round(seconds / 60)
    d, rest = divmod(m, 24 * 60)
    h, mm = divmod(rest, 60)
    parts = [f"{d}d"] if d else []
    if h or d:
        parts.append(f"{h}h")
    parts.append(f"{mm}m")
    return " ".join(parts)


def _causes(o: ScenarioOutcome, gates: dict[str, str]) -> set[tuple[str, str]]:
    """(rule, what) pairs that halted this scenario."""
    out = {(h.rule, h.kind) for h in o.halts}
    if o.held is not None:
        out.add((o.held[1], "phase held"))
    for state, (what, gate_class) in TASK_CAUSES.items():
        if o.not_succeeded.get(state):
            out.add((gates.get(gate_class or "", "-"), what))
    return out


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def build_report(outcomes: Sequence[ScenarioOutcome], ctx: RiskContext) -> dict[str, Any]:
    """The report as plain data (the JSON output; the text is rendered from it)."""
    n = len(outcomes)
    spans = {g.name: g.span.render() for g in ctx.policy.gates}
    gate_by_class = {type(g).__name__: g.name for g in ctx.policy.gates}
    halted = sum(1 for o in outcomes if o.outcome == "halted")
    lo, hi = wilson(halted, n)
    finish = sorted(o.seconds for o in outcomes)
    left = sorted(o.vms_left_old for o in outcomes)
    causes: Counter[tuple[str, str]] = Counter()
    regions: Counter[str] = Counter()
    groups: Counter[tuple[str, str, str]] = Counter()
    for o in outcomes:
        causes.update(_causes(o, gate_by_class))
        regions.update({h.region or "(several regions)" for h in o.halts})
        groups.update({(h.group, h.kind, h.rule) for h in o.halts})
    fault_kinds = sorted({k for o in outcomes for k in o.faults})
    worst = sorted(outcomes, key=lambda o: (-(o.tasks - o.succeeded), -o.seconds, o.index))[:SHOWN_WORST]
    return {
        "inputs": {"policy": ctx.policy.name, "fleet": ctx.fleet_name, "model": ctx.model_name, "waves": ctx.waves,
                   "tasks": ctx.tasks, "seed": ctx.seed, "scenarios": n},
        "digest": results_digest(outcomes),
        "halted": halted,
        "p_halt": round(halted / n, 6) if n else 0.0,
        "p_halt_95": [round(lo, 6), round(hi, 6)],
        "finish_minutes": {"p50": _minutes(nearest_rank(finish, 50)), "p95": _minutes(nearest_rank(finish, 95)),
                           "max": _minutes(finish[-1]), "nominal": _minutes(ctx.nominal_seconds)} if n else {},
        "means": {"rolled_back": round(_mean([o.rolled_back for o in outcomes]), 3),
                  "retried": round(_mean([o.retried for o in outcomes]), 3),
                  "vms_left_old": round(_mean(left), 3)},
        "vms_left_old_p95": nearest_rank(left, 95) if n else 0,
        "faults_mean": {k: round(_mean([o.faults.get(k, 0) for o in outcomes]), 3) for k in fault_kinds},
        "causes": [{"rule": rule, "what": what, "span": spans.get(rule), "scenarios": k, "share": round(k / n, 6)}
                   for (rule, what), k in sorted(causes.items(), key=lambda x: (-x[1], x[0]))],
        "regions": [{"region": r, "scenarios": k, "share": round(k / n, 6)}
                    for r, k in sorted(regions.items(), key=lambda x: (-x[1], x[0]))],
        "groups": [{"group": g, "what": what, "rule": rule, "scenarios": k, "share": round(k / n, 6)}
                   for (g, what, rule), k in sorted(groups.items(), key=lambda x: (-x[1], x[0]))[:50]],
        "halts_by_rule": [{"rule": rule, "scenarios": k}
                          for rule, k in sorted(_rule_halts(outcomes, gate_by_class).items(), key=lambda x: (-x[1], x[0]))],
        "finish_histogram": finish_histogram(finish),
        "worst": [_worst(o, ctx.start) for o in worst],
        "replay": ctx.replay,
        **_calendar(finish, ctx.start),
    }


def _rule_halts(outcomes: Sequence[ScenarioOutcome], gates: dict[str, str]) -> Counter[str]:
    """Scenarios each rule halted (a scenario counts once per rule, whatever the kinds of halt)."""
    out: Counter[str] = Counter()
    for o in outcomes:
        out.update({rule for rule, _what in _causes(o, gates)})
    return out


def finish_histogram(finish: Sequence[int], bins: int = HISTOGRAM_BINS) -> dict[str, list[Any]] | None:
    """Scenarios per finish-time bin (minutes): bin i is [edges[i], edges[i+1]), the last one closed; bins are
    whole seconds wide so the edges strictly increase."""
    if not finish:
        return None
    lo, hi = min(finish), max(finish)
    width = max(1, -(-(hi - lo + 1) // bins))
    n = -(-(hi - lo + 1) // width)
    counts = [0] * n
    for s in finish:
        counts[min(n - 1, (s - lo) // width)] += 1
    return {"edges": [_minutes(lo + i * width) for i in range(n + 1)], "counts": counts}


def _calendar(finish: Sequence[int], start: str | None) -> dict[str, Any]:
    """With a calendar, the finish percentiles as UTC instants (start + virtual seconds); without one, nothing,
    so a report of a schedule without times is what it was."""
    if start is None or not finish:
        return {}
    return {"finish_utc": {"start": _at(start, 0), "p50": _at(start, nearest_rank(finish, 50)),
                           "p95": _at(start, nearest_rank(finish, 95)), "max": _at(start, finish[-1])}}


def _at(start: str, seconds: int) -> str:
    return format_instant(parse_instant(start) + seconds)


def _minutes(seconds: int) -> float:
    return round(seconds / 60, 3)


def _worst(o: ScenarioOutcome, start: str | None) -> dict[str, Any]:
    rules = Counter(h.rule for h in o.halts)
    out = {"seed": o.seed, "index": o.index, "outcome": o.outcome, "not_upgraded": o.tasks - o.succeeded,
           "finish_minutes": _minutes(o.seconds), "halts": dict(sorted(rules.items())),
           "held_phase": o.held[0] if o.held is not None else None}
    if start is not None:
        out["finish_utc"] = _at(start, o.seconds)
    return out


def _pct(share: float) -> str:
    return f"{100 * share:5.1f}%"


def render_text(report: dict[str, Any]) -> str:
    """One screen: the distribution, why and where runs halt, the worst scenarios and how to replay them."""
    inp = report["inputs"]
    n = inp["scenarios"]
    fin = report["finish_minutes"]
    means = report["means"]
    lo, hi = report["p_halt_95"]
    lines = [
        f"wavegate risk: {inp['policy']} on {inp['fleet']} ({inp['waves']} waves, {inp['tasks']:,} tasks), "
        f"model {inp['model']}",
        f"{n:,} scenarios from seed {inp['seed']}; results digest {report['digest'][:16]}",
        "",
        f"halted        {report['halted']:,} of {n:,}   P(halt) {100 * report['p_halt']:.1f}%   "
        f"95% interval {100 * lo:.1f}% - {100 * hi:.1f}% (Wilson)",
        f"finish time   P50 {_dur(fin['p50'])}   P95 {_dur(fin['p95'])}   max {_dur(fin['max'])}   "
        f"(virtual time; nominal {_dur(fin['nominal'])})",
        *_calendar_lines(report),
        f"per scenario  rolled back {means['rolled_back']:.2f}   retried {means['retried']:.2f}   "
        f"VMs left on old versions {means['vms_left_old']:.1f} (P95 {report['vms_left_old_p95']:,})   (means)",
        *_wrapped("faults drawn  ", [f"{k.replace('_', ' ')} {v:.2f}" for k, v in report["faults_mean"].items()]
                  + ["(means)"]),
    ]
    if report["causes"]:
        lines += ["", "why runs halt (share of scenarios; one scenario may have several causes)"]
        width = max(len(c["rule"]) for c in report["causes"][:SHOWN_CAUSES])
        lines += [f"  {_pct(c['share'])}  {c['rule']:<{width}}  {c['what']:<20}  {c['span'] or ''}".rstrip()
                  for c in report["causes"][:SHOWN_CAUSES]]
        lines += _more(len(report["causes"]) - SHOWN_CAUSES, "causes")
    if report["regions"]:
        lines += ["", "where: regions with a halted set (share of scenarios)"]
        lines += _wrapped("  ", [f"{_pct(r['share']).strip()} {r['region']}" for r in report["regions"][:SHOWN_REGIONS]])
        lines += _more(len(report["regions"]) - SHOWN_REGIONS, "regions")
        lines += ["sets halted most often"]
        lines += [f"  {_pct(g['share'])}  {g['group']}: {g['what']} by {g['rule']}"
                  for g in report["groups"][:SHOWN_GROUPS]]
    lines += ["", "worst scenarios (most tasks not upgraded, then the longest)",
              f"  {'seed':>16}  {'not upgraded':>12}  {'finish':>12}  halts"]
    for w in report["worst"]:
        halts = [f"{rule} x{k}" for rule, k in w["halts"].items()]
        if w["held_phase"] is not None:
            halts.append(f"phase {w['held_phase']} held")
        lines.append(f"  {w['seed']:>16}  {w['not_upgraded']:>12,}  {_dur(w['finish_minutes']):>12}  "
                     f"{', '.join(halts) or w['outcome']}")
    if report["worst"]:
        lines.append(f"replay one: {report['replay']} --seed {report['worst'][0]['seed']}")
    return "\n".join(lines) + "\n"


def _calendar_lines(report: dict[str, Any]) -> list[str]:
    utc = report.get("finish_utc")
    if utc is None:
        return []
    return [f"finish (UTC)  P50 {_short(utc['p50'])}   P95 {_short(utc['p95'])}   max {_short(utc['max'])}  "
            f"(start {_short(utc['start'])})"]


def _short(instant: str) -> str:
    """2027-01-09T21:18:15Z as 2027-01-09 21:18 (the text's minute precision; the JSON keeps the seconds)."""
    return instant[:10] + " " + instant[11:16]


def _wrapped(prefix: str, items: list[str], width: int = WIDTH) -> list[str]:
    """``items`` three spaces apart after ``prefix``, wrapped at ``width`` (continuation lines indented alike)."""
    lines: list[str] = []
    line, first = prefix, True
    for item in items:
        if not first and len(line) + 3 + len(item) > width:
            lines.append(line)
            line, first = " " * len(prefix), True
        line += item if first else "   " + item
        first = False
    return [*lines, line]


def _dur(minutes: float) -> str:
    return duration_text(round(minutes * 60))


def _more(k: int, what: str) -> list[str]:
    return [f"  ... and {k} more {what} (--format json lists them)"] if k > 0 else []


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def relative_paths(text: str, cwd: Path) -> str:
    """Spans name the spec by path; below the working folder a relative path reads better (as simulate does)."""
    return text.replace(str(cwd) + os.sep, "")
