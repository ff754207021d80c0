"""A small rollout and a fault model with every kind of fault at high rates, for the risk tests (no planner)."""

from __future__ import annotations

import exec_support as X

from engine.model.fault_model import FaultModel, parse_fault_model
from engine.risk.outcomes import RiskJob
from engine.risk.scenarios import build_space

MODEL = {
    "bad_versions": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent", "version": "1.3",
                      "probability": 0.3, "fail_rate": 0.3}],
    "any_new_version": {"probability": 0.2, "fail_rate": 0.3},
    "install_failures": {"rate": 0.05, "attempts": 1},
    "slow_installs": {"rate": 0.1, "minutes": 6},
    "maintenance": [{"per_day": 60, "minutes": 20, "vms": 2}],
    "unhealthy_at_start": {"rate": 0.03, "minutes": 30},
}


def small_job(seed: int = 5, model: FaultModel | None = None) -> RiskJob:
    fleet = X.fleet({"a": 10, "b": 5, "c": 4}, singles=3, exts=("da", "ama"))
    schedule = X.schedule(fleet)
    policy = X.policy()
    fault_model = model if model is not None else parse_fault_model(MODEL, fleet)
    return RiskJob(policy, fleet, schedule, build_space(fault_model, policy, fleet, schedule), seed)
