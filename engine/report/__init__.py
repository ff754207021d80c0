"""The rollout report: one self-contained HTML page of the plan, the run and the risk (``wavegate report``).

A stage beside plan, check, prove and run: it reads the model's formats, the policy IR and the executor's event
log, aggregates them per region and wave (never per VM, so the page stays small for any fleet) and writes HTML with
inline SVG.  Imports nothing of ``engine.plan`` or ``engine.prove``.  See docs/report.md.
"""

from engine.report.build import Names, report_from_files, report_html, shown_name
from engine.report.risk import RiskSummary, load_risk

__all__ = ["Names", "RiskSummary", "load_risk", "report_from_files", "report_html", "shown_name"]
