"""Execution: the executor on a virtual clock, its drivers, gates, runtime monitors, journal and event log.
Imports nothing of ``engine.plan``."""
