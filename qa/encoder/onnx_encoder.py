"""Run an exported ONNX sentence encoder with onnxruntime: no torch at all.

Tokenisation copies what sentence-transformers does for a BERT-style model:
the model folder's fast tokenizer (``tokenizer.json``, read by the small
``tokenizers`` library), truncation at the model's ``max_seq_length`` from
``sentence_bert_config.json`` (256 here, not the 128 written in
tokenizer.json), lower-casing when that file asks for it, and right padding
to the longest text of each batch. Texts are encoded longest first, as
sentence-transformers does, so a batch carries little padding. The ONNX
graph ends in mean pooling and L2 normalisation, so its output is the
sentence vector. Texts are run in groups of similar length (``plan_runs``).
``PROBE_TEXTS`` and ``probe_error`` let a caller check that
file and tokenizer together reproduce the PyTorch vectors.

This module does not export (``onnx_export``) or find the cached file
(``onnx_cache``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import ModelNotFound

#: Texts whose PyTorch vectors are stored at export and re-checked against
#: the ONNX file at every load (about 15 ms, which also warms the session up):
#: upper case and accents (lower-casing) and empty input.
PROBE_TEXTS = (
    "Will the HIP injection hurt afterwards?",
    "  Café, naïve façade: ÉLAN déjà vu  ",
    "",
)
#: Checked once, at export: a text of over 256 tokens, so truncation must
#: happen at max_seq_length and not at the 128 written in tokenizer.json. It
#: costs about 0.1 s, and what it tests is in the cache key (the model
#: fingerprint covers the tokenizer files), so loads skip it.
EXPORT_PROBE_TEXTS = (*PROBE_TEXTS, " ".join(f"steroid{n} lidocaine" for n in range(200)))
#: Lowest cosine between an ONNX probe vector and its PyTorch vector; the
#: fp32 export differs from PyTorch by about 1e-6.
PROBE_MIN_COSINE = 0.9999


class OnnxUnavailable(ModelNotFound):
    """The ONNX encoder cannot be used here; the PyTorch one still can."""


#: Up to this many texts are tokenised on the calling thread.
SMALL_BATCH = 16
#: Texts per onnxruntime run. Texts are sorted by length first, so a small
#: batch pads little, and on one intra-op thread padding and attention cost
#: more than bigger matrices save: 16 questions took 4.3 ms each in batches
#: of 4, 4.9 in batches of 8, 6.4 in one batch of 16 and 5.4 one by one; the
#: corpus's 135 views built in 1.17 s in batches of 4 against 1.9 s in 32.
BATCH_SIZE = 4
#: A text joins a run of longer texts only if it is padded by at most this many
#: tokens: a run costs about 2.4 ms plus 0.21 ms per token of each row (padding
#: included) on one thread, so padding beyond 2.4 / 0.21 ≈ 11 tokens costs more
#: than a run of its own. Questions from different patients batched together
#: vary a lot in length (bench mix: median 19 tokens, p90 36, p99 65), and one
#: long message padded three short ones to its length: 108 ms against 25 ms
#: run apart (the bench's load, one sitting).
PAD_SLACK_TOKENS = 11


class OnnxEncoder:
    """Texts to L2-normalised float32 vectors with one onnxruntime session."""

    name = "onnx"

    def __init__(self, session, tokenizer, *, pad_id: int, lowercase: bool, workers: int = 1) -> None:
        self.workers = workers  # runs of one long encode at once
        self._session = session
        self._tokenizer = tokenizer
        self._pad_id = pad_id
        self._lowercase = lowercase
        self._output = session.get_outputs()[0].name
        width = session.get_outputs()[0].shape[-1]  # the export fixes it; a symbolic width is measured
        self.dimension = width if isinstance(width, int) else int(self._run([[pad_id]]).shape[-1])

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE, progress: bool = False) -> np.ndarray:
        texts = [t.lower() for t in texts] if self._lowercase else list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = [e.ids for e in self._tokenize(texts)]
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        runs = plan_runs([len(i) for i in ids], max_rows=batch_size)
        if progress:
            from tqdm import tqdm

            runs = tqdm(runs, desc="Batches", unit="batch")

        def run(rows: list[int]) -> None:
            out[rows] = self._run([ids[i] for i in rows])

        if len(runs) > 1 and self.workers > 1:
            # Many runs (a build): one per core at a time. The session runs without the GIL, and
            # with one intra-op thread (open_onnx_encoder) a long encode otherwise left a core idle.
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                list(pool.map(run, runs))
        else:
            for rows in runs:
                run(rows)
        return np.ascontiguousarray(out)

    def _tokenize(self, texts: list[str]):
        """A question's few texts one by one on this thread; many (an index build)
        with the tokenizer's own thread pool, whose start-up costs more than a
        question's tokens (2 ms vs 0.1 ms on a busy 2-core machine)."""
        if len(texts) <= SMALL_BATCH:
            return [self._tokenizer.encode(t) for t in texts]
        return self._tokenizer.encode_batch(texts)

    def _run(self, id_lists: list[list[int]]) -> np.ndarray:
        input_ids, attention_mask = pad_batch(id_lists, self._pad_id)
        return self._session.run([self._output], {"input_ids": input_ids, "attention_mask": attention_mask})[0]


def plan_runs(lengths: Sequence[int], *, max_rows: int, slack: int | None = None) -> list[list[int]]:
    """Positions of ``lengths`` grouped into session runs: longest first (as
    sentence-transformers orders them), at most ``max_rows`` per run, and a
    text joins the current run only if the run's longest text is at most
    ``slack`` tokens longer (default ``PAD_SLACK_TOKENS``), so no text is padded
    by more than that."""
    slack = PAD_SLACK_TOKENS if slack is None else slack
    runs: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        run = runs[-1] if runs else None
        if run is not None and len(run) < max_rows and lengths[run[0]] - lengths[i] <= slack:
            run.append(i)
        else:
            runs.append([i])
    return runs


def pad_batch(id_lists: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded int64 ids and their attention mask (1 = real token)."""
    width = max(len(ids) for ids in id_lists)
    input_ids = np.full((len(id_lists), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(id_lists), width), dtype=np.int64)
    for row, ids in enumerate(id_lists):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return input_ids, mask


def probe_error(encoder, reference: np.ndarray, texts: Sequence[str] = PROBE_TEXTS) -> str | None:
    """Why ``encoder`` fails to reproduce ``reference`` (vectors of ``texts``), or None."""
    vectors = encoder.encode(list(texts))
    if vectors.shape != reference.shape:
        return f"vectors of shape {vectors.shape}, expected {reference.shape}"
    worst = float(np.min(np.sum(vectors * reference, axis=1)))  # rows are unit length: dot = cosine
    return None if worst >= PROBE_MIN_COSINE else f"probe cosine {worst:.6f} < {PROBE_MIN_COSINE}"


def tokenizer_settings(model_path: Path) -> tuple[int, bool]:
    """``max_seq_length`` and ``do_lower_case`` as sentence-transformers reads them."""
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"]), bool(config.get("do_lower_case", False))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OnnxUnavailable(f"no usable sentence_bert_config.json in {model_path} ({exc})") from exc


def open_onnx_encoder(onnx_file: Path, model_path: Path, *, threads: int) -> OnnxEncoder:
    """An encoder over ``onnx_file`` and the tokenizer of the model folder ``model_path``."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    max_length, lowercase = tokenizer_settings(model_path)
    try:
        tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    except Exception as exc:  # tokenizers raises its own exception type
        raise OnnxUnavailable(f"no usable tokenizer.json in {model_path} ({exc})") from exc
    tokenizer.no_padding()  # pad_batch pads each batch to its longest text
    tokenizer.enable_truncation(max_length=max_length)
    pad_id = tokenizer.token_to_id("[PAD]")  # masked out, so its value never reaches a vector
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    # No spinning: idle threads that spin take the cores concurrent questions need. With
    # QA_TORCH_THREADS=2 on the shared 2-core machine spinning doubled one caller's p50
    # (11.1 vs 5.5 ms); with the default 1 thread there is no pool to spin.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    return OnnxEncoder(session, tokenizer, pad_id=0 if pad_id is None else pad_id, lowercase=lowercase,
                       workers=max(1, (os.cpu_count() or 1) // max(1, threads)))
