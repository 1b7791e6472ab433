"""Command-line programs of the library (``python -m ml.cli.evaluate``; ``python -m ml.evaluate`` is the stable alias)."""
