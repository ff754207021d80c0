"""Certificates of the planner's unsat answers, re-checked without trusting Z3: the combinatorial witness of a lower
bound (plain Python on the checker's reading) and a second solver (OR-tools CP-SAT) on a model built from the
checker's reading of the rules.  Imports nothing of ``engine.plan`` and nothing of z3."""
