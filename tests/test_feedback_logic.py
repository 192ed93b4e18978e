"""The feedback loop's pure logic and its in-process wiring, with hand-built values.

Grouping over vectors worked out by hand (and once over the real encoder),
the quote an alternate question carries, the CSV rows staff decisions write,
evaluation rows, the login throttle with a set clock, accounts, the collector
over a real SQLite file with a fake encoder, and the rebuild queue.
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from qa.feedback import corpus_edits
from qa.feedback.accounts import LoginThrottle, add_account, hash_password, load_accounts, parse_accounts, verify
from qa.feedback.collector import CollectingAssistant, Collector
from qa.feedback.config import resolve_feedback_config
from qa.feedback.errors import AnswerNotFound, FeedbackError
from qa.feedback.export import eval_rows, write_rows
from qa.feedback.grouping import group
from qa.feedback.rebuild import Rebuilder
from qa.feedback.store import FeedbackStore, StoredMessage

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def unit(*values):
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


# ------------------------------------------------------------------ grouping
def test_near_duplicates_group_under_the_first_with_a_count():
    # cos(a, b) = 0.98 >= 0.8, cos(a, c) = 0 and cos(c, d) = 0.6 < 0.8: groups {1, 2}, {3}, {4}, {5 (no vector)}.
    a, b, c, d = unit(1, 0, 0), unit(0.98, 0.199, 0), unit(0, 1, 0), unit(0, 0.6, 0.8)
    groups = group([(1, a), (2, b), (3, c), (4, d), (5, None)])
    assert [g.ids for g in groups] == [(1, 2), (3,), (4,), (5,)]
    assert groups[0].leader == 1 and groups[0].count == 2
    assert group([]) == []


def test_real_encoder_groups_paraphrases_not_topics(assistant):
    texts = ["how much does a hip injection cost?", "how much does the hip injection cost",
             "can I bring my dog to the clinic?"]
    vectors = assistant.embedder.encode(texts)
    groups = group(list(enumerate(vectors)))
    assert sorted(g.ids for g in groups) == [(0, 1), (2,)]


# -------------------------------------------------------------- corpus edits
def test_quote_is_verbatim_unique_and_short(assistant):
    passages = assistant.passages
    for passage in passages:
        quote = corpus_edits.quote_for(passage, passages)
        assert quote and quote in passage.plain_text
        assert len(quote.split()) <= corpus_edits.QUOTE_WORDS
    picked = [corpus_edits.quote_for(p, passages) for p in passages]
    holders = [sum(q.casefold() in p.plain_text.casefold() for p in passages) for q in picked]
    assert sum(h == 1 for h in holders) >= 0.9 * len(passages)


@pytest.mark.parametrize("raw,clean", [("=HYPERLINK(\"x\")", "HYPERLINK(\"x\")"), ("  +1 call\nme ", "1 call me"),
                                       ("@sum", "sum"), ("ünï, \"quoted\"", "ünï, \"quoted\"")])
def test_cells_lose_formulas_and_newlines(raw, clean):
    assert corpus_edits.clean_cell(raw) == clean


def test_alternate_and_not_covered_rows_append_under_their_headers(tmp_path):
    corpus_edits.append_alternate(tmp_path, question="can I park, at the clinic?", answer_quote="a quote, verbatim")
    corpus_edits.append_alternate(tmp_path, question="=cmd|' /C calc'!A0", answer_quote="another")
    (tmp_path / "not_covered.csv").write_text("term,topic,where\npregnant,pregnancy,anywhere")  # no final newline
    corpus_edits.append_not_covered(tmp_path, term="Parking", topic="parking and travel", where="question")
    rows = list(csv.DictReader((tmp_path / "alternate_questions.csv").open(encoding="utf-8")))
    assert rows == [{"question": "can I park, at the clinic?", "answer_quote": "a quote, verbatim"},
                    {"question": "cmd|' /C calc'!A0", "answer_quote": "another"}]
    covered = list(csv.DictReader((tmp_path / "not_covered.csv").open(encoding="utf-8")))
    assert covered[-1] == {"term": "parking", "topic": "parking and travel", "where": "question"} and len(covered) == 2
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(FeedbackError, match="term"):
        corpus_edits.append_not_covered(tmp_path, term="  ", topic="x")
    with pytest.raises(FeedbackError, match="where"):
        corpus_edits.append_not_covered(tmp_path, term="x", topic="y", where="everywhere")


# ------------------------------------------------------------------- export
def stored(id_, status, **extra):
    return StoredMessage(answer_id=f"a{id_}", created_at=T0, kind="unanswered", question=extra.pop("question", "q?"),
                         id=id_, status=status, **extra)


def test_only_reviewed_messages_become_eval_rows(tmp_path):
    messages = [stored(1, "assigned", answer_quote="the quote", question="can  I\npark?"), stored(2, "not_covered"),
                stored(3, "new"), stored(4, "dismissed"), stored(5, "assigned", answer_quote="sign", urgent=True)]
    rows = eval_rows(messages)
    assert rows == [{"id": "fb-1", "question": "can I park?", "kind": "feedback", "answer_quote": "the quote"},
                    {"id": "fb-2", "question": "q?", "kind": "out_of_scope", "answer_quote": ""},
                    {"id": "fb-5", "question": "q?", "kind": "red_flag", "answer_quote": "sign"}]
    write_rows(tmp_path / "rows.csv", rows)
    from eval.dataset import load_questions

    assert [q.id for q in load_questions(tmp_path / "rows.csv")] == ["fb-1", "fb-2", "fb-5"]


# ----------------------------------------------------------- accounts, login
def test_throttle_blocks_after_five_failures_until_the_window_passes():
    now = [1000.0]
    throttle = LoginThrottle(per_account=5, overall=8, window=900, clock=lambda: now[0])
    for _ in range(5):
        assert throttle.retry_after("Staff") == 0
        throttle.failed("staff")
    assert throttle.retry_after("STAFF") == pytest.approx(900)  # the first failure leaves the window at 1900
    assert throttle.retry_after("other") == 0
    for _ in range(3):
        throttle.failed("other")
    assert throttle.retry_after("someone-else") > 0, "8 failures in all block every account"
    now[0] += 900.01
    assert throttle.retry_after("staff") == 0 and throttle.retry_after("someone-else") == 0


def test_accounts_from_file_and_env_with_argon2_and_bcrypt(tmp_path):
    import bcrypt

    users = tmp_path / "users.txt"
    add_account(users, "alice", "a long enough password")
    assert users.stat().st_mode & 0o077 == 0
    hashed = bcrypt.hashpw(b"another long password", bcrypt.gensalt(rounds=4)).decode()
    accounts = load_accounts(users, f"bob:{hashed}  # comment")
    assert verify(accounts, "alice", "a long enough password") and verify(accounts, "bob", "another long password")
    assert not verify(accounts, "alice", "wrong") and not verify(accounts, "carol", "a long enough password")
    assert load_accounts(tmp_path / "missing.txt") == {}, "no file and no env: no account, no default password"
    with pytest.raises(FeedbackError, match="add-user"):
        parse_accounts("alice:plaintextpassword", source="QA_ADMIN_USERS")
    with pytest.raises(FeedbackError, match="12"):
        hash_password("short")


def test_config_flags_then_environment_then_defaults(tmp_path):
    env = {"QA_DATA_DIR": str(tmp_path / "env"), "QA_RETENTION_DAYS": "14"}
    config = resolve_feedback_config(env=env)
    assert config.data_dir == tmp_path / "env" and config.retention_days == 14
    assert config.database_url == f"sqlite:///{tmp_path / 'env' / 'feedback.sqlite3'}"
    flagged = resolve_feedback_config(data_dir=tmp_path / "flag", database_url="postgresql+psycopg://x/y",
                                      retention_days=3, env=env)
    assert (flagged.data_dir, flagged.database_url, flagged.retention_days) == (tmp_path / "flag", "postgresql+psycopg://x/y", 3)
    with pytest.raises(FeedbackError, match="retention-days"):
        resolve_feedback_config(retention_days="soon", env={})


def test_app_flags_then_environment_for_collection():
    from qa_web.settings import parse_settings

    assert parse_settings([], env={}).collect_feedback is False, "off by default"
    on = parse_settings([], env={"QA_COLLECT_FEEDBACK": "1", "QA_DATA_DIR": "/srv/fb", "QA_RETENTION_DAYS": "9"})
    assert (on.collect_feedback, on.data_dir, on.retention_days, on.database_url) == (True, "/srv/fb", 9, None)
    flags = parse_settings(["--collect-feedback", "--database-url", "postgresql+psycopg://db/x", "--retention-days", "3"],
                           env={})
    assert (flags.collect_feedback, flags.database_url, flags.retention_days) == (True, "postgresql+psycopg://db/x", 3)


# ---------------------------------------------------------------- collector
@dataclass(frozen=True)
class FakePassage:
    id: str


@dataclass(frozen=True)
class FakeAnswer:
    question: str
    abstained: bool = False
    reason: str = ""
    confidence: float = 0.5
    urgent: bool = False
    emergency: bool = False
    input_error: str | None = None
    passages: tuple = (FakePassage("p1"),)
    answer_id: str = field(default="cached")


class FakeAssistant:
    manifest = {"passage_count": 1}

    def ask(self, question, k=3):
        return FakeAnswer(question, abstained="park" in question, reason="not_covered_topic" if "park" in question else "")


@pytest.fixture
def collecting(tmp_path):
    store = FeedbackStore.open(f"sqlite:///{tmp_path / 'feedback.sqlite3'}")
    collector = Collector(store, retention_days=7, encode=lambda texts: np.ones((len(texts), 4), np.float32) / 2,
                          clock=lambda: T0)
    yield CollectingAssistant(FakeAssistant(), collector), collector, store, tmp_path / "feedback.sqlite3"
    collector.close()
    store.close()


def test_unanswered_kept_redacted_answered_kept_only_when_disliked(collecting):
    wrapped, collector, store, path = collecting
    parked = wrapped.ask("my name is Jane Doe, can I park? 07700 900123")
    liked = wrapped.ask("does it hurt, Jane Doe?")
    disliked = wrapped.ask("how long does it last? ring 07700 900999")
    assert len({parked.answer_id, liked.answer_id, disliked.answer_id, "cached"}) == 4, "a fresh id per answer"
    assert wrapped.manifest == {"passage_count": 1}
    collector.feedback(liked.answer_id, helpful=True)
    collector.feedback(disliked.answer_id, helpful=False, comment="useless, email me at jd@example.com")
    collector.feedback(parked.answer_id, helpful=False)
    collector.flush()
    kept = {m.kind: m for m in store.messages()}
    assert set(kept) == {"unanswered", "disliked"} and store.count() == 2
    assert kept["unanswered"].question == "my name is [NAME], can I park? [NUMBER]"
    assert kept["unanswered"].helpful is False and kept["unanswered"].reason == "not_covered_topic"
    assert kept["disliked"].question == "how long does it last? ring [NUMBER]"
    assert kept["disliked"].comment == "useless, email me at [EMAIL]" and kept["disliked"].passage_ids == ("p1",)
    assert np.frombuffer(kept["disliked"].embedding, np.float32).shape == (4,)
    data = path.read_bytes()
    for secret in (b"Jane", b"07700", b"900123", b"jd@example", b"does it hurt"):
        assert secret not in data


def test_feedback_on_an_unknown_or_expired_answer_is_refused(collecting):
    wrapped, collector, store, _ = collecting
    with pytest.raises(AnswerNotFound, match="hour"):
        collector.feedback("not-an-id", helpful=False)
    answer = wrapped.ask("how long does it last?")
    collector.recent_seconds = -1  # everything is older than the window now
    with pytest.raises(AnswerNotFound):
        collector.feedback(answer.answer_id, helpful=False)
    collector.flush()
    assert store.count() == 0


def test_input_errors_are_not_observed(collecting):
    _, collector, store, _ = collecting
    collector.observe(FakeAnswer("", abstained=True, input_error="Please type a question."))
    collector.flush()
    assert store.count() == 0


# ------------------------------------------------------------------ rebuild
def test_requests_during_a_build_make_exactly_one_more_build():
    started, release, builds = threading.Event(), threading.Event(), []

    def build():
        builds.append(1)
        started.set()
        release.wait(30)

    rebuilder = Rebuilder(build)
    rebuilder.request()
    assert started.wait(30)
    for _ in range(5):
        rebuilder.request()
    release.set()
    assert rebuilder.wait(30)
    assert len(builds) == 2 and rebuilder.builds == 2 and rebuilder.last_error is None


def test_a_failed_build_is_reported_and_the_next_one_runs():
    calls = []

    def build():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")

    rebuilder = Rebuilder(build)
    rebuilder.request()
    rebuilder.wait(30)
    assert "disk full" in rebuilder.last_error
    rebuilder.request()
    rebuilder.wait(30)
    assert rebuilder.last_error is None and len(calls) == 2
