"""The feedback store on a real SQLite file and a real PostgreSQL: the same tests for both.

Retention runs with a clock the test sets. The PostgreSQL is Debian's, started
by the session on a loopback port (tests/feedback_fixtures.py); the tests skip
with the reason where it is not installed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from feedback_fixtures import postgres_server, postgres_url  # noqa: F401  (fixtures)
from qa.feedback.retention import RetentionJob
from qa.feedback.store import FeedbackStore, NewMessage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'feedback.sqlite3'}" if request.param == "sqlite" \
        else request.getfixturevalue("postgres_url")
    opened = FeedbackStore.open(url)
    yield opened
    opened.close()


def message(answer_id: str, at: datetime, **extra) -> NewMessage:
    return NewMessage(answer_id=answer_id, created_at=at, kind=extra.pop("kind", "unanswered"),
                      question=extra.pop("question", f"question {answer_id}"), **extra)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_round_trip_keeps_every_field(store):
    vector = bytes(range(16))
    new = message("a1", T0, question="can I park? [NAME] 😀 ünïcode", reason="not_covered_topic", confidence=0.41,
                  urgent=True, emergency=False, passage_ids=("p1", "p2"), embedding=vector, redactions=2,
                  helpful=False, comment="[EMAIL] says no")
    row_id = store.add(new)
    (got,) = store.messages()
    assert got.id == row_id and got.status == "new" and got.reviewed_at is None
    for field in ("answer_id", "kind", "question", "reason", "urgent", "emergency", "passage_ids", "embedding",
                  "redactions", "helpful", "comment"):
        assert getattr(got, field) == getattr(new, field), field
    assert got.confidence == pytest.approx(0.41)
    assert got.created_at == T0  # aware UTC in, aware UTC out


def test_feedback_and_review_update_the_row(store):
    first = store.add(message("a1", T0))
    second = store.add(message("a2", T0 + timedelta(minutes=1), kind="disliked"))
    assert store.set_feedback("a1", helpful=True) and not store.set_feedback("missing", helpful=False)
    assert store.review([first], status="assigned", now=T0, passage_id="p9", answer_quote="a quote") == 1
    assert store.review([second], status="dismissed", now=T0) == 1
    by_id = {m.id: m for m in store.messages()}
    assert by_id[first].helpful is True and by_id[first].status == "assigned" and by_id[first].answer_quote == "a quote"
    assert [m.id for m in store.messages(status="new")] == []
    assert [m.id for m in store.messages(kind="disliked")] == [second]
    with pytest.raises(ValueError):
        store.review([first], status="deleted", now=T0)


def test_retention_with_a_controlled_clock(store):
    # Messages 0, 6, 8 and 30 days old on day 30; retention 7 days keeps the two newest.
    for age in (30, 8, 6, 0):
        store.add(message(f"age{age}", T0 - timedelta(days=age)))
    clock = Clock(T0)
    job = RetentionJob(store, days=7, clock=clock)
    assert job.run_once() == 2
    assert sorted(m.answer_id for m in store.messages()) == ["age0", "age6"]
    clock.now = T0 + timedelta(days=1, seconds=1)  # a day later the 6-day-old one is 7 days and 1 s old
    assert job.run_once() == 1 and [m.answer_id for m in store.messages()] == ["age0"]
    assert job.run_once() == 0


def test_opening_again_migrates_nothing_and_keeps_rows(store):
    store.add(message("a1", T0))
    again = FeedbackStore.open(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        assert again.count() == 1
    finally:
        again.close()


def test_answer_ids_are_unique(store):
    from sqlalchemy.exc import IntegrityError

    store.add(message("same", T0))
    with pytest.raises(IntegrityError):
        store.add(message("same", T0))


def test_sqlite_file_is_private_and_purged_words_are_overwritten(tmp_path):
    path = tmp_path / "data" / "feedback.sqlite3"
    store = FeedbackStore.open(f"sqlite:///{path}")
    marker = "zebracorn-marker-words " * 20
    store.add(message("old", T0 - timedelta(days=40), question=marker))
    assert marker.encode() in path.read_bytes()
    assert store.purge(older_than=T0) == 1
    store.close()
    assert b"zebracorn-marker-words" not in path.read_bytes(), "secure_delete zeroes deleted rows in the file"
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0


def test_unreachable_database_says_what_to_do(tmp_path):
    from qa.feedback.errors import StoreUnavailable

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreUnavailable, match="--database-url|--data-dir"):
        FeedbackStore.open(f"sqlite:///{blocker}/sub/feedback.sqlite3")
