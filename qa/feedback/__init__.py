"""The content team's feedback loop: opt-in, redacted, time-limited.

When collection is turned on (``python app.py --collect-feedback``), messages
the guide could not answer and answers a patient marked unhelpful are kept:

1. ``collector`` — what the web layer calls: observe each answer (in memory
   for an hour), keep the unanswered and disliked ones; ``CollectingAssistant``.
2. ``redact`` — identifiers replaced before anything is stored: scrubadub,
   plus ``identifiers`` (NHS/hospital/SSN numbers, dates, addresses) and
   ``names`` (cues and a first-name list). ``redaction_eval`` scores a labelled set.
3. ``store`` + ``schema`` + ``migrations/`` — SQLAlchemy over SQLite (default)
   or PostgreSQL, schema by Alembic. ``retention`` deletes old rows.
4. ``grouping`` — near-duplicates shown once; ``corpus_edits`` — the CSV rows a
   staff decision writes; ``rebuild`` — the atomic index build in the background.
5. ``export`` — reviewed messages as eval rows; ``accounts`` — staff password
   hashes and the login throttle; ``config`` — where and how long; ``cli`` —
   ``python -m qa feedback``.

One job: keep, review and turn into corpus rows what patients could not get
answered. May import: SQLAlchemy, Alembic, scrubadub and the password hashers,
and of ``qa`` only the core's plain parts (``qa.config``, ``qa.errors``,
``qa.text``, ``qa.passages``; ``qa.corpus`` and ``qa.index_store`` lazily, for
a rebuild). Nothing here imports a web framework (the page is ``qa_web.admin``,
tests/test_architecture.py); importing ``qa.feedback`` loads nothing heavy.
When collection is off none of this runs and nothing of a question is kept.
"""
