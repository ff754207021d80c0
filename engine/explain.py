"""Deprecated path, kept for one release (until 0.3): the module is ``engine.check.explain`` now (see docs/api.md).

``import engine.explain`` gives that very module object, so every name and identity is unchanged."""

import sys

from engine.check import explain as _moved

sys.modules[__name__] = _moved
