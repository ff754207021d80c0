"""Every number wavegate reads has one documented limit (docs/formats.md, "Limits"): the one table of them.

The policy language (``dsl.checker``) and the interchange formats (``engine.model``) both read these constants,
so the limit a message names is the limit the documentation gives.  They sit in the lowest layer because the
language may not import the engine; ``engine.model.bounds`` enforces the JSON ones.
"""

from __future__ import annotations

# JSON inputs (fleet, schedule, fault script, fault model, events)
JSON_INT_DIGITS = 15
"""Digits of an integer anywhere in a JSON input (below 2**53: every such integer is exact as a float too)."""
JSON_DEPTH = 64
"""Objects and arrays nested in a JSON input (a fleet nests 4 deep; unknown fields are kept, so they are bounded)."""
MINUTES = 52_560_000
"""Any time in minutes in a fault script or fault model: 100 years."""

# The policy language
DURATION_SECONDS = 3_153_600_000
"""Any duration in a policy (health wait, retry interval, pause): 100 years."""
RETRIES = 1_000
"""Retries per failed task: a policy's ``retry ... at most N times`` and ``simulate --max-retries``."""
COUNT = 1_000_000_000
"""A count in a policy (``at most N VMs``, ``at least N VMs``, limits, sizes)."""

# Versions (dsl.versions)
VERSION_PARTS = 4
"""Dot-separated parts of a version string."""
VERSION_PART_DIGITS = 9
"""ASCII digits of one part of a version string (so ``9999999999.1`` is refused: its first part has 10)."""

# Diagnostics
DIAGNOSTICS = 50
"""Diagnostics reported for one input; past it, one line counts the rest."""
