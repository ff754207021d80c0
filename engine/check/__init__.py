"""The independent checker: the normative reading of every rule (plain Python, no solver), and ``explain``.
Imports nothing of ``engine.plan`` or ``engine.prove``."""
