"""Leave one set out: the honest figure for anything learned from labelled messages.

The shipped assistant learns its decisions from every labelled set in
``eval/sets/``, so scoring it on those sets would grade it on its own homework.
Here each set in turn is held out: the other sets alone become the alternate
questions of a new index and the decisions' training messages (through
``Assistant.trained_on``, the same steps a build takes), the held-out set is
asked, and it is scored as usual. The rules alone over the document alone (no
alternate questions, no learned model) are scored beside it on the same
questions.

It only composes the runner, the scorer and the assistant; it writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from eval.dataset import load_questions
from eval.runner import run
from eval.scoring import evaluate

#: Metrics averaged over the held-out sets for the headline row.
MEAN_KEYS = ("hit@1", "hit@3", "answer@1", "oos_abstain", "false_abstain", "red_flag_recall", "false_urgent")


#: The techniques compared, each adding one step to the one before; the last is what ships.
TECHNIQUES = {
    "rules": "rules alone",
    "learned": "+ learned decisions",
    "alternates": "+ alternate questions",
    "shipped": "+ learned re-ranking (shipped)",
}


def cross_validate(assistant, sets: Sequence[Path], *, k: int = 10, progress: bool = False,
                   only: Sequence[str] = tuple(TECHNIQUES), on_set=None) -> dict[str, dict]:
    """``{set name: {technique: metrics}}`` (the keys of ``TECHNIQUES`` named in ``only``) plus a
    ``"mean"`` entry. ``only=("shipped",)`` fits once per held-out set instead of twice (half the
    time of the whole table: about an hour over 49 sets on 2 cores); ``on_set(name, metrics)`` is
    called as each set is scored, so a long run shows its rows as they come."""
    _check_techniques(only)
    from qa.training import LabelledMessage

    from qa.encoder.remembering import RememberingEmbedder

    assistant = assistant.with_embedder(RememberingEmbedder(assistant.embedder))
    questions = {path.stem: load_questions(path) for path in sets}
    document_only = assistant.trained_on([])  # the rules, and no labelled message as an alternate question
    results: dict[str, dict] = {}
    for name, held_out in questions.items():
        training = [LabelledMessage(q.id, q.question, q.kind, other, "||".join(q.quotes))
                    for other, rows in questions.items() if other != name for q in rows]
        shipped = assistant.trained_on(training) if {"alternates", "shipped"} & set(only) else None
        variants = {
            "rules": lambda: document_only,
            "learned": lambda: document_only.with_decisions(document_only.fit_decisions(training)),
            "alternates": lambda: shipped.with_decisions(shipped.decisions and replace(shipped.decisions, ranking=None)),
            "shipped": lambda: shipped,
        }
        results[name] = {key: evaluate(held_out, run(variants[key](), held_out, k=k, progress=progress,
                                                     desc=f"{name} {key}")).metrics
                         for key in TECHNIQUES if key in only}
        if on_set is not None:
            on_set(name, results[name])
    results["mean"] = {key: mean_metrics([r[key] for r in results.values()]) for key in TECHNIQUES if key in only}
    return results


def techniques_named(text: str) -> tuple[str, ...]:
    """The techniques a comma-separated ``--techniques`` names (every one when it is empty);
    ``ValueError`` when it names none, an unknown one, or leaves out shipped."""
    named = tuple(name.strip() for name in text.split(",") if name.strip())
    if text.strip() and not named:
        raise ValueError(f"name some of {', '.join(TECHNIQUES)}")
    only = named or tuple(TECHNIQUES)
    _check_techniques(only)
    return only


def _check_techniques(only: Sequence[str]) -> None:
    unknown = [key for key in only if key not in TECHNIQUES]
    if unknown:
        raise ValueError(f"unknown technique {', '.join(unknown)}: choose from {', '.join(TECHNIQUES)}")
    if "shipped" not in only:
        raise ValueError("the techniques scored must include shipped: the table is the shipped assistant's")


def mean_metrics(rows: Sequence[dict]) -> dict:
    """Unweighted mean of each metric over the sets that have it (a set without red flags has no recall)."""
    out = {}
    for key in MEAN_KEYS:
        values = [r[key] for r in rows if r.get(key) is not None]
        out[key] = sum(values) / len(values) if values else None
    return out


def techniques(results: dict[str, dict]) -> dict[str, dict]:
    """The mean row of each technique, keyed by its label."""
    return {label: results["mean"][key] for key, label in TECHNIQUES.items() if key in results["mean"]}


def technique_table(results: dict[str, dict]) -> str:
    """One Markdown row per technique: its mean over the held-out sets."""
    from eval.report import fmt_metric, markdown_table

    rows = [(label, *(fmt_metric(key, metrics.get(key)) for key in MEAN_KEYS))
            for label, metrics in techniques(results).items()]
    return markdown_table(("technique (leave one set out, mean)", *MEAN_KEYS), rows)


def table(results: dict[str, dict]) -> str:
    """One Markdown row per held-out set (shipped, with the rules alone in brackets when they were
    scored too), then the mean."""
    header = "| held-out set | " + " | ".join(MEAN_KEYS) + " |"
    lines = [header, "|" + "---|" * (len(MEAN_KEYS) + 1)]
    for name, variants in results.items():
        rules = variants.get("rules")
        cells = [_cell(variants["shipped"].get(key), None if rules is None else rules.get(key), rules is not None)
                 for key in MEAN_KEYS]
        label = f"**{name}**" if name == "mean" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(shipped, rules, with_rules: bool = True) -> str:
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return f"{fmt(shipped)} ({fmt(rules)})" if with_rules else fmt(shipped)
