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

``--frontier`` asks whether the cuts or the model are what falls short: from
the same out-of-fold probabilities, it sweeps every fixed urgency cut and veto
per level (``frontier``) and reports, for each number of missed red flags
allowed, the fewest false alarms any one setting reaches. No way of choosing
the cuts can do better on those probabilities; when the frontier is over a bar
too, only a better model (or other evidence) can meet it.
"""

from __future__ import annotations

import itertools
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


@dataclass(frozen=True)
class Scored:
    """One held-out message as its fold's fit read it: what ``decide_urgency`` weighs, and the label."""

    red_flag: bool
    level: str  # the rules' ``Triage.level`` ("" when no rule flagged it)
    probability: float  # the urgency model's, for the whole message
    clause: float | None  # ``qa.training.clause_probability``: its sign's clause read alone


def judge(messages, readings, held: set[str], **settings) -> tuple[UrgencyCount, list[Scored]]:
    """Fit on the sets not in ``held`` (``qa.training.fit_urgency`` with ``settings``), decide those in it;
    the count, and each decided message's ``Scored``."""
    from qa.decisions.policy import decide_urgency
    from qa.training import clause_probability, fit_urgency, urgency_features

    train = [i for i, m in enumerate(messages) if m.source not in held]
    test = [i for i, m in enumerate(messages) if m.source in held]
    model, veto = fit_urgency([messages[i] for i in train], [readings[i] for i in train], **settings)
    sentences = settings.get("sentences", True)
    x = urgency_features([readings[i] for i in test], sentences=sentences)
    scored = [Scored(messages[i].urgent, readings[i].flags.level, model.probability(row, (), readings[i].message),
                     clause_probability(model, readings[i], sentences=sentences)) for i, row in zip(test, x)]
    urgent = [decide_urgency(readings[i].flags, s.probability, model.threshold, veto_below=veto,
                             clause_probability=s.clause).urgent for i, s in zip(test, scored)]
    return count(urgent, [s.red_flag for s in scored]), scored


#: The fixed settings ``frontier`` tries: every urgency cut and every veto of each vetoed level.
FRONTIER_CUTS = tuple(round(float(c), 2) for c in np.linspace(0.02, 0.80, 40))
FRONTIER_VETOES = tuple(round(float(v), 2) for v in np.linspace(0.0, 0.60, 31))
#: The numbers of missed red flags the frontier reports the fewest false alarms at.
FRONTIER_MISSES = (0, 1, 2, 3, 5, 10)


@dataclass(frozen=True)
class FrontierPoint:
    most_missed: int  # missed red flags allowed
    count: UrgencyCount  # what the best setting does
    cut: float
    veto: dict[str, float]  # per vetoed level


def decide_all(scored: Sequence[Scored], cut: float, veto: dict[str, float]) -> np.ndarray:
    """``qa.decisions.policy.decide_urgency`` for every message at once, at one fixed ``cut`` and ``veto``
    (``tests/test_eval_urgency_folds.py`` checks the two agree)."""
    return _decide(_Columns.of(scored), cut, veto)


@dataclass(frozen=True)
class _Columns:
    """``Scored`` messages as arrays, made once for the thousands of settings a frontier tries."""

    level: np.ndarray
    probability: np.ndarray
    clause: np.ndarray  # -1 where there is no clause
    read_alone: np.ndarray  # the level's clause is read alone (``READ_ALONE_LEVELS``)

    @classmethod
    def of(cls, scored: Sequence[Scored]) -> "_Columns":
        from qa.decisions.policy import READ_ALONE_LEVELS

        level = np.array([s.level for s in scored], dtype=object)
        return cls(level, np.array([s.probability for s in scored], dtype=np.float64),
                   np.array([-1.0 if s.clause is None else s.clause for s in scored], dtype=np.float64),
                   np.isin(level, READ_ALONE_LEVELS))


def _decide(columns: _Columns, cut: float, veto: dict[str, float]) -> np.ndarray:
    p = columns.probability
    learned = p >= cut
    told = (columns.clause >= cut) & columns.read_alone
    floor = np.zeros(len(p))
    for level, value in veto.items():
        if level != "emergency":  # never vetoed
            floor[columns.level == level] = value
    flagged = columns.level != ""
    vetoed = flagged & (p < floor) & ~learned & ~told
    return (flagged | learned) & ~vetoed


def frontier(scored: Sequence[Scored], *, misses: Sequence[int] = FRONTIER_MISSES,
             cuts: Sequence[float] = FRONTIER_CUTS, vetoes: Sequence[float] = FRONTIER_VETOES) -> list[FrontierPoint]:
    """For each number in ``misses``, the fixed cut and per-level veto with the fewest false alarms among
    those missing at most that many red flags (ties: the higher cut and vetoes); none where no setting
    misses so few."""
    from qa.training import VETOED_LEVELS

    labels = np.array([s.red_flag for s in scored], dtype=bool)
    columns = _Columns.of(scored)
    tried = []
    for cut in cuts:
        # A veto over the cut drops nothing more than one at it (the cut keeps what it passes).
        for combo in _combinations(VETOED_LEVELS, sorted({min(v, cut) for v in vetoes})):
            tried.append((count(_decide(columns, cut, combo), labels), cut, combo))
    points = []
    for most in misses:
        fitting = [t for t in tried if t[0].missed <= most]
        if fitting:
            best = min(fitting, key=lambda t: (t[0].false_alarms, -t[1], tuple(-v for v in t[2].values())))
            points.append(FrontierPoint(most, best[0], best[1], best[2]))
    return points


def _combinations(levels: Sequence[str], values: Sequence[float]) -> list[dict[str, float]]:
    return [dict(zip(levels, chosen)) for chosen in itertools.product(values, repeat=len(levels))]


def urgency_folds(assistant, *, folds: int = DEFAULT_FOLDS, new_sets: Sequence[str] = (), **settings) -> dict:
    """``{"folds": [[names, count], ...], "total": count, "new_sets": count or None, "scored": [Scored, ...]}``
    over every labelled set (``qa.training.training_dir``; ``scored``: the folds' messages, for
    ``frontier``); ``settings``: ``fit_urgency``'s keywords."""
    from qa.training import read_labelled, training_dir

    messages = read_labelled(training_dir())
    unknown = sorted(set(new_sets) - {m.source for m in messages})
    if unknown:
        raise ValueError(f"no labelled set named {', '.join(unknown)} in {training_dir()}")
    read = assistant.read_labelled([m.question for m in messages])
    kept = [(m, r) for m, r in zip(messages, read) if r.vector is not None]  # none without dense search
    messages, readings = [m for m, _ in kept], [r for _, r in kept]
    names = sorted({m.source for m in messages})
    judged = [(fold, judge(messages, readings, set(fold), **settings)) for fold in deal(names, folds)]
    per_fold = [(fold, c) for fold, (c, _) in judged]
    total = sum((c for _, c in per_fold), UrgencyCount(0, 0, 0, 0))
    fresh = judge(messages, readings, set(new_sets), **settings)[0] if new_sets else None
    scored = [s for _, (_, fold_scored) in judged for s in fold_scored]
    return {"folds": per_fold, "total": total, "new_sets": fresh, "scored": scored}


def table(results: dict) -> str:
    """One Markdown row per fold, then the total and the new sets."""
    lines = ["| held-out sets | missed red flags | false alarms |", "|---|---|---|"]
    rows = [(", ".join(names), c) for names, c in results["folds"]] + [("**total**", results["total"])]
    if results["new_sets"] is not None:
        rows.append(("**new sets** (fitted on all the others)", results["new_sets"]))
    for label, c in rows:
        lines.append(f"| {label} | {c.missed} of {c.red_flags} | {c.false_alarms} of {c.others} |")
    return "\n".join(lines)


def frontier_table(points: Sequence[FrontierPoint], shipped: UrgencyCount) -> str:
    """One Markdown row per number of misses allowed, under the shipped settings' own count."""
    lines = ["| missed red flags allowed | fewest false alarms | at the cut | and vetoes |", "|---|---|---|---|",
             f"| shipped settings, fitted per fold: {shipped.missed} of {shipped.red_flags} missed | "
             f"{shipped.false_alarms} of {shipped.others} | | |"]
    for point in points:
        vetoes = ", ".join(f"{level} {value:.2f}" for level, value in point.veto.items())
        lines.append(f"| {point.most_missed} (missed {point.count.missed}) | {point.count.false_alarms} of "
                     f"{point.count.others} | {point.cut:.2f} | {vetoes} |")
    return "\n".join(lines)
