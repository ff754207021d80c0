"""No install crosses a major version, unless the policy allows majors (``VersionPolicy.allow_major``).  Not a rule
kind: the version policy of every run gets it."""

from __future__ import annotations

from engine.run.monitors.base import RunMonitor, breach


class NoMajorMonitor(RunMonitor):
    def __init__(self, allow_major: bool) -> None:
        self.allow_major = allow_major
        self._same_major: set[tuple[str, str]] = set()  # version pairs seen not to cross a major

    def on_install(self, vm: str, extension: str, from_version: str, to_version: str) -> None:
        # The major is the integer before the first dot (versions reaching the executor are validated); the few
        # distinct version pairs of a rollout are checked once each.
        if self.allow_major or (from_version, to_version) in self._same_major:
            return
        if int(from_version.partition(".")[0]) != int(to_version.partition(".")[0]):
            raise breach(f"install of {extension} {from_version} -> {to_version} on {vm} crosses a major version")
        self._same_major.add((from_version, to_version))
