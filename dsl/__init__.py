"""wavegate's policy language: grammar, parser, AST with source spans, checker, formatter."""
