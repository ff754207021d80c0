"""Planning: the checked policy over counted VM classes, lower bounds, a constructive plan, Z3 models, the shortest
schedule and, when none exists, the minimal conflicting rules.  Every schedule is re-checked by ``engine.check``."""
