"""Fit the learned decisions from the labelled question sets, as part of an index build.

The labelled sets (``eval/sets/*.csv``, or ``QA_TRAINING_DIR``) say of each
message whether it is a red flag and whether the document covers it. Each
message is read exactly as a patient's would be (``qa.reading``), and two
logistic regressions are fitted on what the reading gives: the question's
vector (and, for coverage, named retrieval cues). Each threshold is chosen on probabilities from
models that did not see the message's own set (leave one set out), so the cut
is set where new wordings land, not where training messages do.

``fit_decisions`` is pure over the readings; ``read_labelled`` and
``training_fingerprint`` are the thin I/O. The result is written as
``decisions.json`` inside the index build folder, checksummed in its manifest,
and rebuilt by ``python -m qa build`` whenever a labelled set or a corpus
table changes (the fingerprint is part of the manifest's staleness check).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .clinic_tables import read_table
from .config import PROJECT_ROOT
from .decisions.learned import LinearModel, fit_model, pick_threshold
from .decisions.policy import EXACT_SCOPE_REASONS
from .decisions.signals import COVERAGE_CUES, URGENCY_CUES
from .reading import Reading

log = logging.getLogger("qa.training")
ENV_TRAINING_DIR = "QA_TRAINING_DIR"
DECISIONS_FILE = "decisions.json"
DECISIONS_FORMAT = 2  # 2: urgency reads the vector alone
#: Labelled messages read at once while training, so the encoder can batch them.
READ_THREADS = 8
#: A missed red flag costs as much as this many false alarms when the urgency cut is chosen.
URGENT_MISS_COST = 10.0
#: Declining a question the document answers costs this much of a confident answer to one it does not.
COVERED_MISS_COST = 0.5


def training_dir() -> Path:
    return Path(os.environ.get(ENV_TRAINING_DIR) or PROJECT_ROOT / "eval" / "sets")


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    question: str
    kind: str
    source: str  # the set it came from (file name without .csv)

    @property
    def urgent(self) -> bool:
        return self.kind == "red_flag"

    @property
    def covered(self) -> bool:
        return self.kind != "out_of_scope"


@dataclass(frozen=True)
class Decisions:
    """The two fitted models."""

    urgency: LinearModel
    coverage: LinearModel

    def to_json(self) -> dict:
        return {"format": DECISIONS_FORMAT, "urgency": self.urgency.to_json(), "coverage": self.coverage.to_json()}

    @classmethod
    def from_json(cls, data: dict) -> "Decisions":
        if data.get("format") != DECISIONS_FORMAT:
            raise ValueError(f"decisions format {data.get('format')!r}, expected {DECISIONS_FORMAT}")
        return cls(LinearModel.from_json(data["urgency"]), LinearModel.from_json(data["coverage"]))


def read_labelled(folder: Path) -> list[LabelledMessage]:
    """Every row of every CSV in ``folder`` (columns id, question, kind)."""
    rows = []
    for path in sorted(folder.glob("*.csv")):
        for row in read_table(path, columns=("id", "question", "kind")):
            if row["question"].strip() and row["kind"].strip():
                rows.append(LabelledMessage(row["id"], row["question"], row["kind"].strip(), path.stem))
    return rows


def training_fingerprint(folder: Path, corpus_dir: Path) -> dict:
    """sha256 of each labelled set and of the corpus tables (glossary, warning signs,
    alternate questions...) that a reading depends on, and the features the code
    reads (so a model fitted for other features is stale, not misread); ``sets``
    is empty when there is nothing to learn from."""
    sets = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    return {"features": {"format": DECISIONS_FORMAT, "urgency": list(URGENCY_CUES), "coverage": list(COVERAGE_CUES)},
            "sets": [{"name": p.name, "sha256": digest(p)} for p in sets],
            "tables": [{"name": p.name, "sha256": digest(p)} for p in sorted(corpus_dir.glob("*.csv"))]}


#: Sets are dealt into this many folds for choosing thresholds: each message's
#: probability comes from a model fitted without its set (and a few others), in
#: a handful of fits instead of one per set, so a build stays quick.
THRESHOLD_FOLDS = 5


def _oof_probabilities(x_vectors, x_cues, labels, sources, *, cue_names) -> np.ndarray:
    """Each message's probability from a model fitted without its own set."""
    names = sorted(set(sources))
    fold_of = {name: i % THRESHOLD_FOLDS for i, name in enumerate(names)}
    out = np.zeros(len(labels))
    for fold in sorted(set(fold_of.values())):
        held = np.array([fold_of[s] == fold for s in sources])
        train_labels = [label for label, h in zip(labels, held) if not h]
        if len(set(train_labels)) < 2:
            out[held] = 0.5
            continue
        model = fit_model(x_vectors[~held], x_cues[~held], train_labels, cue_names=cue_names)
        out[held] = [model.probability(v, c) for v, c in zip(x_vectors[held], x_cues[held])]
    return out


def fit_decisions(messages: Sequence[LabelledMessage], readings: Sequence[Reading]) -> Decisions:
    """Both models, thresholds chosen leave-one-set-out (see the module docstring)."""
    vectors = np.array([r.vector for r in readings], dtype=np.float64)
    sources = [m.source for m in messages]
    models = {}
    for name, cues, labels, cue_names, miss_cost, forced in (
        ("urgency", [() for _ in readings], [m.urgent for m in messages], URGENCY_CUES, URGENT_MISS_COST,
         [1.0 if r.flags.urgent else None for r in readings]),  # the rules' urgent stays urgent
        ("coverage", [r.coverage_cues for r in readings], [m.covered for m in messages], COVERAGE_CUES, COVERED_MISS_COST,
         [0.0 if r.rule_scope.reason in EXACT_SCOPE_REASONS else None for r in readings]),  # exact refusals stay
    ):
        x_cues = np.array(cues, dtype=np.float64).reshape(len(readings), len(cue_names))
        oof = _oof_probabilities(vectors, x_cues, labels, sources, cue_names=cue_names)
        combined = [f if f is not None else p for f, p in zip(forced, oof)]
        threshold = pick_threshold(combined, labels, miss_cost=miss_cost)
        models[name] = fit_model(vectors, x_cues, labels, cue_names=cue_names, threshold=threshold)
    return Decisions(models["urgency"], models["coverage"])


def train_into(folder: Path, read: Callable[[str], Reading], *, training: Path, fingerprint: dict) -> dict:
    """Read every labelled message, fit, and write ``decisions.json`` into a build ``folder``.

    Returns the manifest fields that record what the models were fitted from.
    Nothing to learn from (no sets) writes no file: the rules then decide alone.
    """
    if not fingerprint["sets"]:
        log.warning("No labelled question sets in %s: the decisions use the rules alone.", training)
        return {"decisions": None}
    messages = read_labelled(training)
    # Read concurrently: the encoder batches questions that arrive together (qa/encoder/batching.py).
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        readings = list(pool.map(read, [m.question for m in messages]))
    kept = [(m, r) for m, r in zip(messages, readings) if r.vector is not None]
    decisions = fit_decisions([m for m, _ in kept], [r for _, r in kept])
    (folder / DECISIONS_FILE).write_text(json.dumps(decisions.to_json()), encoding="utf-8")
    return {"decisions": {"file": DECISIONS_FILE, "messages": len(kept), "inputs": fingerprint,
                          "urgency_threshold": decisions.urgency.threshold,
                          "coverage_threshold": decisions.coverage.threshold}}
