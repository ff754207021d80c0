"""The planner's budget: a wall-clock deadline shared by every step, with the solver calls and notes it gathered."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Budget:
    deadline: float
    calls: int = 0
    variables: int = 0
    notes: list[str] = field(default_factory=list)

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())
