"""``python -m qa``: see ``qa/cli.py``."""

from .cli import main

raise SystemExit(main())
