"""Follow-up questions: does the assistant read a turn in the light of the ones before?

``eval/dialogues.csv`` holds short conversations (``dialogue_id,turn,question,
kind,answer_quote``): a first question, then follow-ups such as "and how long
does it last?" whose gold quotes say what they ask *in context*. Every turn
after the first is asked twice, alone and with the earlier questions as
``history``, and scored like any evaluation row. The first turns are not
counted: they measure ordinary retrieval, which the other sets cover.

Reading the CSV and pairing turns is pure; ``evaluate_dialogues`` calls the
assistant through the runner's lazy import. It does not write files.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import DatasetError, Question, parse_questions
from eval.outcome import outcome_from_dict
from eval.scoring import evaluate

DEFAULT_DIALOGUES = Path(__file__).with_name("dialogues.csv")


@dataclass(frozen=True)
class Turn:
    """One follow-up turn: the question row and the patient's earlier questions."""

    row: Question
    history: tuple[str, ...]


def load_follow_ups(path: str | Path = DEFAULT_DIALOGUES) -> list[Turn]:
    """Every turn after the first, with the questions before it (oldest first)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror}); pass an existing dialogues CSV") from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or not {"dialogue_id", "turn"} <= set(rows[0]):
        raise DatasetError(f"{path}: expected the columns dialogue_id,turn,question,kind,answer_quote")
    by_dialogue: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_dialogue[row["dialogue_id"]].append(row)
    # Reuse the question-set rules (quotes present unless out_of_scope) for each turn.
    flat = "id,question,kind,answer_quote\n" + "".join(
        _csv_line(f"{r['dialogue_id']}#{r['turn']}", r["question"], r["kind"], r["answer_quote"]) for r in rows
    )
    questions = {q.id: q for q in parse_questions(flat, source=str(path))}
    turns = []
    for dialogue_id, dialogue in by_dialogue.items():
        dialogue.sort(key=lambda r: int(r["turn"]))
        for i, row in enumerate(dialogue[1:], start=1):
            turns.append(Turn(questions[f"{dialogue_id}#{row['turn']}"], tuple(r["question"] for r in dialogue[:i])))
    return turns


def _csv_line(*cells: str) -> str:
    return ",".join('"' + c.replace('"', '""') + '"' for c in cells) + "\n"


def evaluate_dialogues(assistant, turns: Sequence[Turn], *, k: int = 10) -> dict[str, dict]:
    """Metrics of the follow-up turns asked alone and with their history."""
    results = {}
    for name, with_history in (("alone", False), ("with history", True)):
        outcomes = [
            outcome_from_dict(t.row.id, assistant.ask(t.row.question, k=k, history=t.history if with_history else ()).to_dict(),
                              latency_ms=0.0)
            for t in turns
        ]
        results[name] = evaluate([t.row for t in turns], outcomes).metrics
    return results
