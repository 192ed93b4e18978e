"""The urgency decision alone, fitted on some sets and judged on the others: minutes, not an hour.

Leave one set out (``crossval.py``) refits everything, re-indexes and asks every
question for each of 40-odd sets: about an hour. The urgency decision reads
only the message (its vector, its sentences', its words and the rules' signs),
never the index's alternate questions, so it can be judged much faster: the sets
are dealt into folds, and for each fold the urgency model, its cut and its veto
are fitted on the other folds exactly as a build fits them
(``qa.training.fit_urgency``), and each message of the fold is decided as a
patient's would be (``qa.decisions.policy.decide_urgency``). It counts missed
red flags and false alarms, the two errors the urgency settings trade.

``--new-sets`` also fits on every set but the named ones and judges those
(three sets written for new kinds of patients, for instance): the closest thing
to a first run that a set already read can give. It only composes the training
and policy functions; it writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Folds the sets are dealt into (by name, in turn): each fit leaves about one set in eight out.
DEFAULT_FOLDS = 8


@dataclass(frozen=True)
class UrgencyCount:
    missed: int  # red flags not marked urgent
    red_flags: int
    false_alarms: int  # other messages marked urgent
    others: int

    def __add__(self, other: "UrgencyCount") -> "UrgencyCount":
        return UrgencyCount(self.missed + other.missed, self.red_flags + other.red_flags,
                            self.false_alarms + other.false_alarms, self.others + other.others)


def count(urgent: Sequence[bool], labels: Sequence[bool]) -> UrgencyCount:
    """Missed red flags and false alarms of ``urgent`` decisions against ``labels`` (red flag or not)."""
    u, y = np.asarray(urgent, dtype=bool), np.asarray(labels, dtype=bool)
    return UrgencyCount(int((y & ~u).sum()), int(y.sum()), int((~y & u).sum()), int((~y).sum()))


def deal(names: Sequence[str], folds: int) -> list[list[str]]:
    """The set names dealt in turn into ``folds`` non-empty folds."""
    folds = max(1, min(folds, len(names)))
    return [list(names[i::folds]) for i in range(folds)]


def judge(messages, readings, held: set[str], **settings) -> UrgencyCount:
    """Fit on the sets not in ``held`` (``qa.training.fit_urgency`` with ``settings``), decide those in it."""
    from qa.decisions.policy import decide_urgency
    from qa.training import clause_probability, fit_urgency, urgency_features

    train = [i for i, m in enumerate(messages) if m.source not in held]
    test = [i for i, m in enumerate(messages) if m.source in held]
    model, veto = fit_urgency([messages[i] for i in train], [readings[i] for i in train], **settings)
    sentences = settings.get("sentences", True)
    x = urgency_features([readings[i] for i in test], sentences=sentences)
    urgent = [decide_urgency(readings[i].flags, model.probability(row, (), readings[i].message), model.threshold,
                             veto_below=veto,
                             clause_probability=clause_probability(model, readings[i], sentences=sentences)).urgent
              for i, row in zip(test, x)]
    return count(urgent, [messages[i].urgent for i in test])


def urgency_folds(assistant, *, folds: int = DEFAULT_FOLDS, new_sets: Sequence[str] = (), **settings) -> dict:
    """``{"folds": [[names, count], ...], "total": count, "new_sets": count or None}`` over every
    labelled set (``qa.training.training_dir``); ``settings``: ``fit_urgency``'s keywords."""
    from qa.training import read_labelled, training_dir

    messages = read_labelled(training_dir())
    unknown = sorted(set(new_sets) - {m.source for m in messages})
    if unknown:
        raise ValueError(f"no labelled set named {', '.join(unknown)} in {training_dir()}")
    read = assistant.read_labelled([m.question for m in messages])
    kept = [(m, r) for m, r in zip(messages, read) if r.vector is not None]  # none without dense search
    messages, readings = [m for m, _ in kept], [r for _, r in kept]
    names = sorted({m.source for m in messages})
    per_fold = [(fold, judge(messages, readings, set(fold), **settings)) for fold in deal(names, folds)]
    total = sum((c for _, c in per_fold), UrgencyCount(0, 0, 0, 0))
    fresh = judge(messages, readings, set(new_sets), **settings) if new_sets else None
    return {"folds": per_fold, "total": total, "new_sets": fresh}


def table(results: dict) -> str:
    """One Markdown row per fold, then the total and the new sets."""
    lines = ["| held-out sets | missed red flags | false alarms |", "|---|---|---|"]
    rows = [(", ".join(names), c) for names, c in results["folds"]] + [("**total**", results["total"])]
    if results["new_sets"] is not None:
        rows.append(("**new sets** (fitted on all the others)", results["new_sets"]))
    for label, c in rows:
        lines.append(f"| {label} | {c.missed} of {c.red_flags} | {c.false_alarms} of {c.others} |")
    return "\n".join(lines)
