"""The ``versions`` block: which extensions become tasks (enabled only, opt-outs) and their target (the newest
version of the installed major unless a new major is allowed, capped by pins).  A chain merges child over parent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dsl import ast
from dsl import policy as ir
from dsl.checker.extensions import selector_of_fields
from dsl.checker.files import FileResult
from dsl.checker.values import TV
from dsl.diagnostics import Diagnostic, Span
from dsl.versions import is_version

# The setting each item states: two items of one setting in a block are said twice (W305) or contradict (E222).
SETTING = {
    "only_enabled": "enabled",
    "include_disabled": "enabled",
    "never_major": "major",
    "allow_major": "major",
    "newest_minor": "newest",
}


@dataclass
class VersionSettings:
    """What a chain's blocks said so far (None: not said, the default holds)."""

    span: Span | None = None
    only_enabled: bool | None = None
    allow_major: bool | None = None
    pins: list[ir.VersionPin] = field(default_factory=list)
    opt_outs: list[ir.OptOut] = field(default_factory=list)

    def policy(self) -> ir.VersionPolicy:
        return ir.VersionPolicy(
            span=self.span,
            only_enabled=True if self.only_enabled is None else self.only_enabled,
            allow_major=False if self.allow_major is None else self.allow_major,
            pins=tuple(self.pins),
            opt_outs=tuple(self.opt_outs),
        )


def versions_of(
    results: Sequence[FileResult], env: Mapping[str, TV], diags: list[Diagnostic]
) -> ir.VersionPolicy:
    """The version policy of a chain (child first): explicit child settings win, pins and opt-outs add up.
    (``env`` is unused: version items take no params.)"""
    settings = VersionSettings()
    for res in reversed(results):
        for i, block in enumerate(res.versions):
            if i > 0:
                diags.append(Diagnostic("E214", "a second `versions` block", block.span, hint="merge it into the first"))
                continue
            settings.span = block.span
            read_block(block, settings, diags)
    return settings.policy()


def read_block(block: ast.VersionsDecl, settings: VersionSettings, diags: list[Diagnostic]) -> None:
    said: dict[str, ast.VersionItem] = {}
    for item in block.items:
        if isinstance(item, ast.VersionItem):
            read_setting(item, said, settings, diags)
        else:
            read_selection(item, settings, diags)


def read_setting(
    item: ast.VersionItem, said: dict[str, ast.VersionItem], settings: VersionSettings, diags: list[Diagnostic]
) -> None:
    setting = SETTING[item.kind]
    prev = said.get(setting)
    if prev is not None:
        if prev.kind == item.kind:
            diags.append(Diagnostic("W305", "said twice", item.span, severity="warning", hint="remove one"))
        else:
            message = f"contradicts the line above ({prev.span.line}:{prev.span.column})"
            diags.append(Diagnostic("E222", message, item.span, hint="keep one of them"))
        return
    said[setting] = item
    if item.kind in ("only_enabled", "include_disabled"):
        settings.only_enabled = item.kind == "only_enabled"
    elif item.kind in ("never_major", "allow_major"):
        settings.allow_major = item.kind == "allow_major"


def read_selection(item: ast.OptOutItem | ast.PinItem, settings: VersionSettings, diags: list[Diagnostic]) -> None:
    sel = selector_of_fields(item.fields, diags)
    if sel is None:
        return
    if isinstance(item, ast.OptOutItem):
        settings.opt_outs.append(ir.OptOut(sel, item.span))
        return
    if not is_version(item.version.value):
        diags.append(Diagnostic("E220", f"`{item.version.value}` is not a version", item.version.span,
                                hint="1 to 4 dot-separated numbers, e.g. \"9.5\" or \"1.2.3\""))
        return
    settings.pins.append(ir.VersionPin(sel, item.version.value, item.span))
