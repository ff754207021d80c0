"""``python -m engine.cli``: the same entry point as the ``wavegate`` script."""

from engine.cli.app import main

main()
