"""``python -m qa feedback list | export | purge | add-user`` on a real SQLite store.

The export is checked the way the content team uses it: ``python -m eval
--questions rows.csv`` runs on it (real model, the session's index) and
scores the rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from qa.cli import main
from qa.feedback.store import FeedbackStore, NewMessage

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = datetime.now(timezone.utc)


@pytest.fixture
def data_dir(tmp_path, assistant):
    """A store with one assigned, one not-covered, one new and one 40-day-old message."""
    from qa.feedback.corpus_edits import quote_for

    passages = assistant.passages
    # Staff pick what the kept (redacted) wording ranks first.
    first = assistant.ask("could I pick up a bug from the jab, [NAME] asks").passages[0].id
    risks = next(p for p in passages if p.id == first)
    store = FeedbackStore.open(f"sqlite:///{tmp_path / 'data' / 'feedback.sqlite3'}")
    ids = [store.add(NewMessage(answer_id=f"a{n}", created_at=NOW - timedelta(days=age), kind="unanswered",
                                question=q)) for n, (q, age) in enumerate([
        ("could I pick up a bug from the jab, [NAME] asks", 1), ("is there parking for [NAME]?", 1),
        ("what is the weather like", 1), ("an old one", 40)])]
    store.review([ids[0]], status="assigned", now=NOW, passage_id=risks.id, answer_quote=quote_for(risks, passages))
    store.review([ids[1]], status="not_covered", now=NOW)
    store.close()
    return tmp_path / "data"


def test_list_shows_redacted_messages(data_dir, capsys):
    assert main(["feedback", "--data-dir", str(data_dir), "list", "--status", "new"]) == 0
    out = capsys.readouterr().out
    assert "what is the weather like" in out and "an old one" in out and "2 message(s)" in out
    assert "parking" not in out


def test_export_writes_rows_that_the_evaluation_runs(data_dir, tmp_path, built_index_dir, capsys):
    rows = tmp_path / "rows.csv"
    assert main(["feedback", "--data-dir", str(data_dir), "export", "--out", str(rows)]) == 0
    lines = rows.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,question,kind,answer_quote" and len(lines) == 3
    assert lines[2].endswith(",out_of_scope,")
    env = {**os.environ, "QA_INDEX_DIR": str(built_index_dir), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "eval", "--questions", str(rows), "--json", "--no-progress"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    metrics = json.loads(run.stdout)
    assert metrics["n"]["feedback"] == 1 and metrics["n"]["out_of_scope"] == 1
    assert metrics["hit@1"] == 1.0, "the quote exported for the row is found in the passage it names"


def test_purge_applies_retention_now_and_all_deletes_everything(data_dir, capsys):
    assert main(["feedback", "--data-dir", str(data_dir), "--retention-days", "30", "purge"]) == 0
    assert "deleted 1 message(s) older than 30 days" in capsys.readouterr().out
    assert main(["feedback", "--data-dir", str(data_dir), "purge", "--all"]) == 0
    assert "deleted 3 message(s)" in capsys.readouterr().out


def test_add_user_writes_an_argon2_hash_never_the_password(tmp_path, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("a staff password 42\n"))
    assert main(["feedback", "--data-dir", str(tmp_path), "add-user", "alice", "--password-stdin"]) == 0
    text = (tmp_path / "admin_users.txt").read_text()
    assert text.startswith("alice:$argon2id$") and "a staff password 42" not in text
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["feedback", "--data-dir", str(tmp_path), "add-user", "bob", "--password-stdin"]) == 2
    assert "at least 12 characters" in capsys.readouterr().err


def test_a_database_that_cannot_open_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "blocker").write_text("")
    code = main(["feedback", "--database-url", f"sqlite:///{tmp_path}/blocker/x.sqlite3", "list"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: Cannot open the feedback database") and "Traceback" not in err
