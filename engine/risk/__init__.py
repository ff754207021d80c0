"""Rollout risk before applying (``wavegate risk``): Monte-Carlo over seeded fault scenarios drawn from a fault model
(``engine.model.fault_model``), one executor run per scenario, on Dask.

``scenarios`` draws scenario ``i`` of seed ``s`` deterministically; ``outcomes`` runs one and keeps its outcome;
``dispatch`` runs batches of them on Dask (synchronous, local worker processes, or a cluster); ``assess`` ties them
together; ``report`` turns the outcomes into the distribution the user reads.  Documented in docs/risk.md.
"""
