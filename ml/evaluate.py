"""Stable entry point ``python -m ml.evaluate ...`` (README, issues); the CLI lives in :mod:`ml.cli.evaluate`."""

import sys

from ml.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
