"""Deprecated path, kept for one release (until 0.3): the module is ``engine.model.schedule`` now (see docs/api.md).

``import engine.schedule`` gives that very module object, so every name and identity is unchanged."""

import sys

from engine.model import schedule as _moved

sys.modules[__name__] = _moved
