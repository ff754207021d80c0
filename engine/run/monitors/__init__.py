"""Runtime invariant monitors: the invariants the proofs state, re-checked on every state change of a run.

One module per kind the executor re-checks (``capacity.py``, ``distinct_limit.py``, ``separate_pairs.py``,
``separate_regions.py``, ``precheck.py``, ``stop_upgraded.py``, ``extension_order.py``), each a
:class:`~engine.run.monitors.base.KindMonitor` registered by IR type in ``MONITORS``; two more every run gets
(``halted.py``: no batch in a halted group; ``no_major.py``: no major crossed); ``UNSUPPORTED`` says, per kind not
re-checked at run time, why.  :class:`Monitor` (``monitor.py``) runs them together for the executor:

* no batch starts while a precheck gate would fail for one of its groups, nor in a blocked or stopped group, nor
  in a group where more than a stop gate's cap of the upgraded VMs turned unhealthy;
* every ``Capacity`` rule (the batch cap: at most 20% of a scale set per wave) holds per executed wave or phase;
* every ``DistinctLimit`` rule (one zone per region per wave, one update domain per set per wave) holds;
* geo-paired regions (``SeparatePairs``) and listed regions (``SeparateRegions``) never share a wave or phase;
* no install of an extension an ``ExtensionOrder`` puts second starts on a VM before the first succeeded there;
* no install crosses a major version unless the policy allows majors.
"""

from __future__ import annotations

from engine.run.monitors.base import KindMonitor, UnhealthyCount
from engine.run.monitors.monitor import Monitor
from engine.run.monitors.registry import MONITORS, UNSUPPORTED
from engine.run.reading import key_getter, value_getter

__all__ = ["MONITORS", "UNSUPPORTED", "KindMonitor", "Monitor", "UnhealthyCount", "key_getter", "value_getter"]
