"""Installed from a wheel, holds specs/ and proofs/ (mapped from the repository\x27s top-level folders)."""
