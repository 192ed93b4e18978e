"""Questions CSV validation: every problem is one DatasetError naming what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eval.dataset import DatasetError, load_questions, parse_questions

REPO = Path(__file__).resolve().parent.parent
HEADER = "id,question,kind,answer_quote\n"


def test_valid_file_parses_quotes_and_ignores_extra_columns(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "id,question,kind,answer_quote,notes\n"
        'a,What is PRP?,section,"own blood || growth factors",from sheet 2\n'
        "b,hi,out_of_scope,,\n"
        "c,my hip?,team_kind,lidocaine,\n",
        encoding="utf-8-sig",  # a BOM, as Excel writes it
    )
    qs = load_questions(path)
    assert [q.id for q in qs] == ["a", "b", "c"]
    assert qs[0].quotes == ("own blood", "growth factors")
    assert qs[1].quotes == () and not qs[1].in_scope
    assert qs[2].in_scope  # unknown kinds count as in-scope


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty file"),
        ("id,question\nx,y\n", "missing column(s) kind, answer_quote"),
        (HEADER, "no questions"),
        (HEADER + "a,,faq,q\n", "line 2: empty 'question'"),
        (HEADER + "a,q,,x\n", "empty 'kind'"),
        (HEADER + "a,q,faq,\n", "needs an answer_quote"),
        (HEADER + "a,q,out_of_scope,some quote\n", "must leave answer_quote empty"),
        (HEADER + "a,q,faq,x\na,r,faq,y\n", "duplicate id(s) a"),
        (HEADER + "a,q,faq,x,extra,more\n", "more fields than the header"),
        (HEADER + 'a,q,faq,"unterminated\n', "malformed CSV"),
    ],
)
def test_problems_raise_dataset_error_with_a_useful_message(text, expected):
    with pytest.raises(DatasetError, match=None) as info:
        parse_questions(text, source="mine.csv")
    assert expected in str(info.value)
    assert str(info.value).startswith("mine.csv")


def test_unreadable_files_raise_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        load_questions(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="is a directory"):
        load_questions(tmp_path)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(HEADER.encode() + "a,caf\xe9?,faq,x\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_questions(latin1)


def test_cli_reports_a_bad_csv_in_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question\n1,hello\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "eval", "--json", "--questions", str(bad)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "missing column(s) kind, answer_quote" in result.stderr
    assert "Traceback" not in result.stderr
