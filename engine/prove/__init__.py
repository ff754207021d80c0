"""Proofs: theorems about a policy for all fleets (symbolic encodings, the executor's transition model), policy
diff, and the reports CI reads (text, JSON, JUnit, SARIF).  Every refutation is replayed through ``engine.check``."""
