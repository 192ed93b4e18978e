"""Leave one set out: the honest figure for anything learned from labelled messages.

The shipped assistant learns its decisions from every labelled set in
``eval/sets/``, so scoring it on those sets would grade it on its own homework.
Here each set in turn is held out: the decisions are fitted on the other sets
only (through ``Assistant.fit_decisions``, the same reading and fitting a build
does), the held-out set is asked, and it is scored as usual. The rules alone
(no learned model) are scored beside it on the same questions.

It only composes the runner, the scorer and the assistant; it writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eval.dataset import load_questions
from eval.runner import run
from eval.scoring import evaluate

#: Metrics averaged over the held-out sets for the headline row.
MEAN_KEYS = ("hit@1", "hit@3", "answer@1", "oos_abstain", "false_abstain", "red_flag_recall", "false_urgent")


def cross_validate(assistant, sets: Sequence[Path], *, k: int = 10, progress: bool = False) -> dict[str, dict]:
    """``{set name: {"learned": metrics, "rules": metrics}}`` plus a ``"mean"`` entry."""
    from qa.training import LabelledMessage

    questions = {path.stem: load_questions(path) for path in sets}
    rules_only = assistant.with_decisions(None)
    results: dict[str, dict] = {}
    for name, held_out in questions.items():
        training = [LabelledMessage(q.id, q.question, q.kind, other)
                    for other, rows in questions.items() if other != name for q in rows]
        learned = assistant.with_decisions(assistant.fit_decisions(training))
        results[name] = {
            "learned": evaluate(held_out, run(learned, held_out, k=k, progress=progress, desc=name)).metrics,
            "rules": evaluate(held_out, run(rules_only, held_out, k=k, progress=progress, desc=f"{name} rules")).metrics,
        }
    results["mean"] = {variant: mean_metrics([r[variant] for r in results.values()]) for variant in ("learned", "rules")}
    return results


def mean_metrics(rows: Sequence[dict]) -> dict:
    """Unweighted mean of each metric over the sets that have it (a set without red flags has no recall)."""
    out = {}
    for key in MEAN_KEYS:
        values = [r[key] for r in rows if r.get(key) is not None]
        out[key] = sum(values) / len(values) if values else None
    return out


def table(results: dict[str, dict]) -> str:
    """One Markdown row per held-out set (learned, with the rules alone in brackets), then the mean."""
    header = "| held-out set | " + " | ".join(MEAN_KEYS) + " |"
    lines = [header, "|" + "---|" * (len(MEAN_KEYS) + 1)]
    for name, variants in results.items():
        cells = [_cell(variants["learned"].get(key), variants["rules"].get(key)) for key in MEAN_KEYS]
        label = f"**{name}**" if name == "mean" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(learned, rules) -> str:
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return f"{fmt(learned)} ({fmt(rules)})"
