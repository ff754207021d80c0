"""Deprecated path, kept for one release (until 0.3): the module is ``dsl.versions`` now (see docs/api.md).

``import engine.versions`` gives that very module object, so every name and identity is unchanged."""

import sys

from dsl import versions as _moved

sys.modules[__name__] = _moved
