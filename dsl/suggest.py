"""Did-you-mean: the one place that picks the closest known word (every stage's messages format it their way)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, options: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known word most like ``word`` (difflib's ratio at least ``cutoff``), or None."""
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=cutoff)
    return found[0] if found else None
