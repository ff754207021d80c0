"""What the checker reports: each broken rule (or structural check) with the concrete facts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dsl.diagnostics import Span

# How many VM names a rendered violation lists before "and N more".
SHOWN_VMS = 8


@dataclass(frozen=True)
class Violation:
    """One broken rule (or structural check) with the concrete facts: wave, VMs, and a message saying why."""

    rule: str
    span: Span | None
    wave: int | None
    vms: tuple[str, ...]
    message: str
    phase: int | None = None

    def render(self, max_vms: int = SHOWN_VMS) -> str:
        where = f" ({self.span.render()})" if self.span is not None else ""
        when = f" wave {self.wave}:" if self.wave is not None else (f" phase {self.phase}:" if self.phase is not None else "")
        text = f"{self.rule}{where}:{when} {self.message}"
        if self.vms:
            shown = ", ".join(self.vms[:max_vms])
            more = f" and {len(self.vms) - max_vms} more" if len(self.vms) > max_vms else ""
            text += f"\n    VMs: {shown}{more}"
        return text

    def to_json(self, max_vms: int | None = None) -> dict[str, Any]:
        vms = self.vms if max_vms is None else self.vms[:max_vms]
        return {
            "rule": self.rule,
            "span": self.span.to_json() if self.span is not None else None,
            "wave": self.wave,
            "phase": self.phase,
            "vms": list(vms),
            "vm_count": len(self.vms),
            "message": self.message,
        }


@dataclass(frozen=True)
class VerifyReport:
    violations: tuple[Violation, ...]
    notes: tuple[Violation, ...] = ()
    rules_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_rule(self) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = {}
        for v in self.violations:
            out.setdefault(v.rule, []).append(v)
        return out

    def to_json(self, max_vms: int | None = None) -> str:
        doc = {
            "ok": self.ok,
            "rules_checked": self.rules_checked,
            "violations": [v.to_json(max_vms) for v in self.violations],
            "notes": [v.to_json(max_vms) for v in self.notes],
        }
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"
