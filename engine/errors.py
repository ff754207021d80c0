"""Deprecated path, kept for one release (until 0.3): the module is ``engine.model.errors`` now (see docs/api.md).

``import engine.errors`` gives that very module object, so every name and identity is unchanged."""

import sys

from engine.model import errors as _moved

sys.modules[__name__] = _moved
