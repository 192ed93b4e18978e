"""Entry point for ``python -m eval``; all the work is in ``eval.cli``."""

import sys

from eval.cli import main

if __name__ == "__main__":
    sys.exit(main())
