"""Compiler from the checked policy (over counted VM classes) to Z3: the model's structure (engine.plan.encoding),
then every rule's assertions by its kind's planner (engine.plan.kinds), every (rule, group) a named assertion."""

from __future__ import annotations

from collections.abc import Sequence

from engine.plan.encoding import Encoding, Mode
from engine.plan.groups import Groups


def wave_order_rules(groups: Groups, class_ids: Sequence[int]) -> bool:
    """True when a rule makes the order of waves matter among these classes (then waves are not symmetric)."""
    ids = set(class_ids)
    return any(p.orders_waves(ids) for p in groups.planners)


def compile_model(
    groups: Groups,
    class_ids: Sequence[int],
    waves: int,
    mode: Mode,
    *,
    lengths: dict[str, int] | None = None,
    phase_slots: int | None = None,
    track: bool = True,
    symmetry: bool = True,
    deadline: float | None = None,
) -> Encoding:
    """The model of ``class_ids`` in ``waves`` waves (or, in ``phases`` mode, of regions of known ``lengths``);
    raises OutOfTime when ``deadline`` passes while it is built."""
    sort_waves = symmetry and not (mode != "phases" and waves > 1 and wave_order_rules(groups, class_ids))
    sort_phases = symmetry and not any(p.orders_phases() for p in groups.plans)
    enc = Encoding(groups.classes, class_ids, waves, mode, lengths=lengths, phase_slots=phase_slots, track=track,
                   sort_waves=sort_waves, sort_phases=sort_phases, deadline=deadline)
    for p in groups.planners:
        p.encode(enc)
    return enc

