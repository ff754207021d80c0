"""Deprecated path, kept for one release (until 0.3): the module is ``engine.model.fleet`` now (see docs/api.md).

``import engine.fleet`` gives that very module object, so every name and identity is unchanged."""

import sys

from engine.model import fleet as _moved

sys.modules[__name__] = _moved
