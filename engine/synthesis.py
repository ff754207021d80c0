"""Deprecated path, kept for one release (until 0.3): the module is ``engine.plan.synthesis`` now (see docs/api.md).

``import engine.synthesis`` gives that very module object, so every name and identity is unchanged."""

import sys

from engine.plan import synthesis as _moved

sys.modules[__name__] = _moved
