"""wavegate engine: fleet model, compiler to Z3, synthesis, verification, proofs, executor and CLI."""

__version__ = "0.1.0"
