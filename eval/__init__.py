"""Answer-quality evaluation for the hip-injection FAQ assistant (``python -m eval``).

One job: ask labelled questions through the same ``qa`` API the app uses,
check the returned passages against verbatim gold quotes, and report ranking,
abstention, urgency and latency metrics. The sets are in ``eval/sets/``
(labelled, trained on), ``eval/sealed/`` (blind, never trained on) and
``eval/dialogues.csv``; docs/evaluation.md describes them.

Modules, one job each:

1. ``dataset``   - read and validate a questions CSV into ``Question`` values.
2. ``matching``  - Markdown stripping, folding, "does this passage contain a quote".
3. ``outcome``   - plain records of one answer.
4. ``metrics``   - pure metric functions over IR-shaped dicts, flat keys.
5. ``scoring``   - turns questions + assistant outcomes into those dicts.
6. ``runner``    - asks the questions and times ``ask()``.
7. ``crossval``  - leave one set out for the learned decisions (``qa.encoder.remembering``: each text
   encoded once across the held-out sets).
8. ``dialogues`` - follow-up turns, alone and with history.
9. ``report``    - pandas/matplotlib: CSV, Markdown, JSON and PNG artifacts.
10. ``cli``      - argparse; translates errors into exit codes.

May import: ``qa`` only inside functions (tests/test_architecture.py), so
importing ``eval`` loads no model; never ``qa_web`` or ``bench``.
"""
