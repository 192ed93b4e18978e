"""Retrieval evaluation for the hip-injection FAQ assistant.

Run it with ``python -m eval --help``. The package is a thin shell over the
``qa`` library: it asks every question of ``eval/questions.csv`` (or any CSV
with the same columns), checks the returned passages against verbatim gold
quotes and reports ranking, abstention, urgency and latency metrics.

Modules, one job each:

1. ``dataset``  - read and validate the questions CSV into ``Question`` values.
2. ``matching`` - Markdown stripping, folding, "does this passage contain a quote".
3. ``metrics``  - pure metric functions over IR-shaped dicts, flat keys.
4. ``scoring``  - turns questions + assistant outcomes into those dicts.
5. ``runner``   - the only module that talks to ``qa`` (lazily).
6. ``report``   - pandas/matplotlib: CSV, Markdown, JSON and PNG artifacts.
7. ``cli``      - argparse; translates errors into exit codes.

Importing this package loads no model and does not import ``qa``.
"""
