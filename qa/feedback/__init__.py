"""The content team's feedback loop: opt-in, redacted, time-limited.

When collection is turned on (``python app.py --collect-feedback``), messages
the guide could not answer and answers a patient marked unhelpful are
redacted (``redact``), stored in a database (``store``; SQLite by default,
PostgreSQL by URL, schema by Alembic ``migrations/``) and deleted after the
retention period (``retention``). Staff review them grouped by similarity
(``grouping``), turn them into alternate questions or not-covered topics
(``corpus_edits``, then ``rebuild``) and export them as evaluation rows
(``export``). ``collector`` is the one object the web layer talks to.

Nothing here imports a web framework; importing ``qa.feedback`` loads nothing
heavy (scrubadub, SQLAlchemy and Alembic load on first use). When collection
is off none of this runs and nothing of a question is kept.
"""
