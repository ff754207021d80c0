"""`wavegate verify`: re-check a schedule against a policy and a fleet with the independent checker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dsl.limits import DIAGNOSTICS
from engine.cli.common import Format, FormatOption, RootOption, progress, report_errors, shown_paths
from engine.model.digest import check_tied
from engine.model.resources import bundled_spec, sample_fleet


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def verify(
        schedule: Annotated[Path, typer.Argument(help="The schedule JSON to check.")],
        spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Policy (.wg); default: bundled Azure default.")] = None,
        fleet: Annotated[Path | None, typer.Option("--fleet", "-f", help="Fleet JSON; default: bundled sample fleet.")] = None,
        fmt: FormatOption = Format.text,
        max_vms: Annotated[int, typer.Option("--max-vms", help="VM names shown per violation.")] = 8,
        root: RootOption = None,
        force: Annotated[bool, typer.Option("--force", help="Check a schedule planned for another fleet or policy anyway.")] = False,
    ) -> None:
        """Check SCHEDULE against every rule of a policy on a fleet; exit 1 on any violation.

        \b
        Each violation names the rule and its source line, the wave and the VMs involved.
        Exit codes: 0 the schedule satisfies every rule, 1 violations, 2 bad input.

        \b
        Example:
          wavegate verify --spec specs/team-strict.wg --fleet my.json s.json
        """
        with progress("loading and checking"):
            text, ok = run_verify(schedule, spec, fleet, fmt, max_vms, root, force)
        typer.echo(shown_paths(text), nl=False)
        if not ok:
            raise typer.Exit(1)


def run_verify(
    schedule: Path, spec: Path | None, fleet: Path | None, fmt: Format | str = Format.text, max_vms: int = 8,
    root: Path | None = None, force: bool = False,
) -> tuple[str, bool]:
    """Load the three inputs, check, and render the report; also say whether the schedule passed."""

    # deferred: the planner and checker stack (z3) loads only when this command runs
    from engine.api import load_fleet, load_policy, load_schedule, verify

    spec_path = spec if spec is not None else bundled_spec()
    fleet_path = fleet if fleet is not None else sample_fleet()
    policy = load_policy(spec_path, root)
    the_fleet = load_fleet(fleet_path)
    the_schedule = load_schedule(schedule)
    warning = check_tied(the_schedule, policy, the_fleet, str(schedule), force)
    if warning is not None:
        typer.echo(f"warning: {warning}; checked anyway (--force)", err=True)
    report = verify(policy, the_fleet, the_schedule)
    if Format(fmt) == Format.json:
        doc = json.loads(report.to_json(max_vms=max_vms))
        doc = {"policy": policy.name, "spec": str(spec_path), "fleet": str(fleet_path), "schedule": str(schedule), **doc}
        return json.dumps(doc, indent=2) + "\n", report.ok
    lines: list[str] = []
    n = len(report.violations)
    if report.ok:
        lines.append(f"schedule satisfies all {report.rules_checked} rules of {policy.name} on {fleet_path.name}")
        cert = the_schedule.certificate
        if cert is not None:
            lines.append(f"certificate: lower bound {cert.lower_bound} re-derived from the fleet and the policy"
                         f"{'; the wave count is optimal' if cert.optimal else ''}")
    else:
        rules = sorted({v.rule for v in report.violations})
        lines.append(f"{n} violation{'s' if n != 1 else ''} of {len(rules)} rule{'s' if len(rules) != 1 else ''} "
                     f"({', '.join(rules)}) of {policy.name} on {fleet_path.name}")
        lines.extend(v.render(max_vms) for v in report.violations[:DIAGNOSTICS])
        if n > DIAGNOSTICS:
            lines.append(f"... and {n - DIAGNOSTICS:,} more violations (the first {DIAGNOSTICS} are shown; "
                         "--format json lists them all)")
    if report.notes:
        lines.append(f"{len(report.notes)} soft preference miss{'es' if len(report.notes) != 1 else ''} (not violations):")
        lines.extend("  note: " + v.render(max_vms) for v in report.notes)
    return "\n".join(lines) + "\n", report.ok
