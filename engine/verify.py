"""Deprecated path, kept for one release (until 0.3): the module is ``engine.check.verify`` now (see docs/api.md).

``import engine.verify`` gives that very module object, so every name and identity is unchanged."""

import sys

from engine.check import verify as _moved

sys.modules[__name__] = _moved
