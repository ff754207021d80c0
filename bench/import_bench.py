"""Time `wavegate import` on generated inputs: an ARM template with big scale sets, and an az-shaped VM listing.

Prints one row per size: VMs, seconds for the import (read, evaluate, assemble, validate), VMs per second.

    python bench/import_bench.py --sizes 1000 10000 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.importers.arm import ArmOptions, import_arm  # noqa: E402
from engine.importers.rest import RestOptions, import_rest  # noqa: E402

EXT = {"publisher": "Microsoft.Azure.Monitoring.DependencyAgent", "type": "DependencyAgentLinux",
       "typeHandlerVersion": "9.5", "enableAutomaticUpgrade": True}


def arm_template(n: int) -> dict[str, Any]:
    """Ten zonal scale sets of n/10 instances (a copy loop), each with two profile extensions."""
    return {"parameters": {"perSet": {"type": "int", "defaultValue": n // 10}}, "resources": [{
        "type": "Microsoft.Compute/virtualMachineScaleSets", "name": "[concat('web', copyIndex())]",
        "location": "eastus", "zones": ["1", "2", "3"], "copy": {"name": "sets", "count": 10},
        "sku": {"capacity": "[parameters('perSet')]"}, "properties": {"upgradePolicy": {"mode": "Rolling"},
        "virtualMachineProfile": {"extensionProfile": {"extensions": [
            {"name": "da", "properties": EXT},
            {"name": "health", "properties": {**EXT, "type": "ApplicationHealthLinux", "typeHandlerVersion": "2.0"}},
        ]}}}}]}


def rest_listing(n: int) -> list[dict[str, Any]]:
    sub = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute"
    return [{"id": f"{sub}/virtualMachineScaleSets/web{i % 10}/virtualMachines/{i}", "name": f"web{i % 10}_{i}",
             "location": "eastus", "zones": [str(i % 3 + 1)],
             "instanceView": {"platformUpdateDomain": i % 5, "platformFaultDomain": i % 2,
                              "vmHealth": {"status": {"code": "HealthState/healthy"}},
                              "extensions": [{"name": "da", "type": "X.Y", "typeHandlerVersion": "9.5.1"}]},
             "resources": [{"name": "da", "type": "Microsoft.Compute/virtualMachines/extensions",
                            "publisher": EXT["publisher"], "typePropertiesType": EXT["type"],
                            "typeHandlerVersion": "9.5", "enableAutomaticUpgrade": True}]} for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = ap.parse_args()
    print(f"{'input':<6} {'VMs':>8} {'seconds':>9} {'VMs/s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            for kind in ("arm", "rest"):
                p = Path(tmp) / f"{kind}-{n}.json"
                p.write_text(json.dumps(arm_template(n) if kind == "arm" else rest_listing(n)))
                start = time.perf_counter()
                if kind == "arm":
                    fleet = import_arm([p], ArmOptions()).fleet
                else:
                    fleet = import_rest([p], RestOptions()).fleet
                took = time.perf_counter() - start
                print(f"{kind:<6} {len(fleet.vms):>8} {took:>9.2f} {len(fleet.vms) / took:>10.0f}")


if __name__ == "__main__":
    main()
