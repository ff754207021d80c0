"""A second solver for the prover's unsat answers: the same query, written out as SMT-LIB 2 and decided by cvc5.

A "proven" rests on an unsat answer; :mod:`engine.prove.certificate` re-derives most claims without any solver, and
for the rest the query (premises and negated claim) is handed to cvc5, a solver that shares no code with Z3.  Only
"unsat" from cvc5 confirms; sat, unknown, a timeout or an error leave the claim unconfirmed (then unknown).  This
guards against a solver's bug, not an encoding's: those are what ``bench/prove_fuzz.py`` hunts, against the checker.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import cvc5
import z3

MAX_MS = 5000  # cvc5's own time limit per query, at most


_NARY = (z3.Z3_OP_ADD, z3.Z3_OP_MUL, z3.Z3_OP_AND, z3.Z3_OP_OR)


def _standard(e: z3.ExprRef, seen: dict[int, z3.ExprRef]) -> z3.ExprRef:
    """The term with every one-argument sum, product, conjunction and disjunction replaced by its argument (Z3
    writes ``(+ x)``, which SMT-LIB does not allow); nothing else changes."""
    key = e.get_id()
    if key in seen:
        return seen[key]
    out = e
    if z3.is_app(e) and e.num_args() > 0:
        kids = [_standard(c, seen) for c in e.children()]
        if e.decl().kind() in _NARY and len(kids) == 1:
            out = kids[0]
        elif not z3.is_quantifier(e):
            out = e.decl()(*kids)
    seen[key] = out
    return out


def recheck_unsat(assertions: Sequence[z3.BoolRef], deadline: float) -> bool:
    """Does cvc5 find the conjunction of ``assertions`` unsatisfiable before ``deadline``?"""
    ms = int(min(MAX_MS, (deadline - time.monotonic()) * 1000))
    if ms <= 0:
        return False
    s = z3.Solver(ctx=assertions[0].ctx) if assertions else z3.Solver()
    seen: dict[int, z3.ExprRef] = {}
    s.add(*[_standard(a, seen) for a in assertions])
    text = s.to_smt2()
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("tlimit-per", str(ms))
    solver.setLogic("ALL")
    parser = cvc5.InputParser(solver)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text, "prove-query")
    symbols = parser.getSymbolManager()
    answer = ""
    try:
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            out = cmd.invoke(solver, symbols)
            if cmd.getCommandName() == "check-sat":
                answer = out.strip()
    except Exception:  # any failure of the second solver leaves the claim unconfirmed, never a pass
        return False
    return answer == "unsat"
