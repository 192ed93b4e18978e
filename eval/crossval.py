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


def cross_validate(assistant, sets: Sequence[Path], *, k: int = 10, progress: bool = False) -> dict[str, dict]:
    """``{set name: {technique: metrics}}`` (keys of ``TECHNIQUES``) plus a ``"mean"`` entry."""
    from qa.training import LabelledMessage

    from qa.encoder.remembering import RememberingEmbedder

    assistant = assistant.with_embedder(RememberingEmbedder(assistant.embedder))
    questions = {path.stem: load_questions(path) for path in sets}
    document_only = assistant.trained_on([])  # the rules, and no labelled message as an alternate question
    results: dict[str, dict] = {}
    for name, held_out in questions.items():
        training = [LabelledMessage(q.id, q.question, q.kind, other, "||".join(q.quotes))
                    for other, rows in questions.items() if other != name for q in rows]
        shipped = assistant.trained_on(training)
        variants = {
            "rules": document_only,
            "learned": document_only.with_decisions(document_only.fit_decisions(training)),
            "alternates": shipped.with_decisions(shipped.decisions and replace(shipped.decisions, ranking=None)),
            "shipped": shipped,
        }
        results[name] = {key: evaluate(held_out, run(variant, held_out, k=k, progress=progress,
                                                     desc=f"{name} {key}")).metrics
                         for key, variant in variants.items()}
    results["mean"] = {key: mean_metrics([r[key] for r in results.values()]) for key in TECHNIQUES}
    return results


def mean_metrics(rows: Sequence[dict]) -> dict:
    """Unweighted mean of each metric over the sets that have it (a set without red flags has no recall)."""
    out = {}
    for key in MEAN_KEYS:
        values = [r[key] for r in rows if r.get(key) is not None]
        out[key] = sum(values) / len(values) if values else None
    return out


def techniques(results: dict[str, dict]) -> dict[str, dict]:
    """The mean row of each technique, keyed by its label."""
    return {label: results["mean"][key] for key, label in TECHNIQUES.items()}


def technique_table(results: dict[str, dict]) -> str:
    """One Markdown row per technique: its mean over the held-out sets."""
    from eval.report import fmt_metric, markdown_table

    rows = [(label, *(fmt_metric(key, metrics.get(key)) for key in MEAN_KEYS))
            for label, metrics in techniques(results).items()]
    return markdown_table(("technique (leave one set out, mean)", *MEAN_KEYS), rows)


def table(results: dict[str, dict]) -> str:
    """One Markdown row per held-out set (shipped, with the rules alone in brackets), then the mean."""
    header = "| held-out set | " + " | ".join(MEAN_KEYS) + " |"
    lines = [header, "|" + "---|" * (len(MEAN_KEYS) + 1)]
    for name, variants in results.items():
        cells = [_cell(variants["shipped"].get(key), variants["rules"].get(key)) for key in MEAN_KEYS]
        label = f"**{name}**" if name == "mean" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(shipped, rules) -> str:
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return f"{fmt(shipped)} ({fmt(rules)})"
