"""The ONNX trial: the bundled model exported with ``torch.onnx`` and run by
``onnxruntime`` directly (fp32, and dynamically quantised to int8), against
PyTorch: single-question encode latency, and the eval metrics through the
whole assistant with its index rebuilt by each encoder. No ``optimum``, no
``sentence-transformers[onnx]`` (they downgrade transformers here).
This module exports and measures; it does not change ``qa``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from bench.context import Context
from bench.stats import Section, ratio, summary, timed

METRIC_KEYS = ("hit@1", "hit@3", "hit@5", "mrr@10", "answer@1", "oos_abstain", "false_abstain", "red_flag_recall", "false_urgent")


def export(model, folder: Path) -> dict[str, Path]:
    """fp32 and int8 ONNX files of transformer + mean pooling + L2 normalisation."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Encoder(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    folder.mkdir(parents=True, exist_ok=True)
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    sample = model.tokenizer(["a hip injection", "will it hurt afterwards"], padding=True, return_tensors="pt")
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}}
    with torch.no_grad(), contextlib.redirect_stderr(None):
        torch.onnx.export(Encoder(model[0].auto_model).eval(), (sample["input_ids"], sample["attention_mask"]), str(fp32),
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return {"onnx fp32": fp32, "onnx int8": int8}


def onnx_embedder_class(onnx_file: Path):
    """An ``Embedder`` whose ``encode`` runs ``onnx_file`` with onnxruntime."""
    import onnxruntime as ort

    from qa.embedder import Embedder

    class OnnxEmbedder(Embedder):
        _session = None

        def encode(self, texts, *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
            if OnnxEmbedder._session is None:
                options = ort.SessionOptions()
                # Spinning worker threads would steal the cores from PyTorch and the web server.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.add_session_config_entry("session.inter_op.allow_spinning", "0")
                OnnxEmbedder._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
            tok, out = self.model.tokenizer, []
            for i in range(0, len(texts), batch_size):
                enc = tok(list(texts[i:i + batch_size]), padding=True, truncation=True,
                          max_length=self.model.max_seq_length, return_tensors="np")
                out.append(OnnxEmbedder._session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                                            "attention_mask": enc["attention_mask"].astype(np.int64)})[0])
            vectors = np.concatenate(out) if out else np.zeros((0, 384), np.float32)
            return np.ascontiguousarray(vectors, dtype=np.float32)

    return OnnxEmbedder


def _metrics(assistant_cls_patch, index_dir: Path) -> dict:
    import qa.assistant as assistant_module
    from eval.dataset import load_questions
    from eval.runner import run
    from eval.scoring import evaluate
    from qa import Assistant

    saved = assistant_module.Embedder
    if assistant_cls_patch is not None:
        assistant_module.Embedder = assistant_cls_patch
    try:
        assistant = Assistant.load(index_dir=index_dir)
    finally:
        assistant_module.Embedder = saved
    questions = load_questions()
    return evaluate(questions, run(assistant, questions, progress=False)).metrics


def onnx(ctx: Context) -> Section:
    a = ctx.assistant
    files = export(a.embedder.model, ctx.work_dir / "onnx")
    encoders = {"pytorch": a.embedder}
    for name, path in files.items():
        encoders[name] = onnx_embedder_class(path)(a.embedder.path)
    qs = ctx.questions
    for e in encoders.values():
        e.encode(qs[:4])
    lat = {name: [] for name in encoders}
    for i, q in enumerate(qs):
        names = list(encoders) if i % 2 == 0 else list(encoders)[::-1]
        for name in names:
            lat[name].append(timed(encoders[name].encode, [q])[0])
    ref = a.embedder.encode(qs)
    sec = Section("onnx", "ONNX Runtime trial (fp32 and int8) vs PyTorch")
    rows = []
    base = summary(lat["pytorch"])["p50"]
    for name, e in encoders.items():
        s = summary(lat[name])
        cos = float(np.mean(np.sum(e.encode(qs) * ref, axis=1)))
        rows.append([name, s["p50"], s["p95"], ratio(s["p50"], base), cos, files[name].stat().st_size / 2**20 if name in files else np.nan])
    sec.add(f"Single-question encode over {len(qs)} eval questions, the three encoders interleaved. "
            "Export: `torch.onnx.export` (TorchScript exporter) of transformer + mean pooling + normalisation; "
            "int8: `onnxruntime.quantization.quantize_dynamic` (QInt8 weights).", "")
    sec.table(["encoder", "p50 ms", "p95 ms", "p50 ratio to PyTorch", "mean cosine to PyTorch", "file MB"], rows)
    metrics = {"pytorch": _metrics(None, ctx.work_dir / "eval-index-pytorch")}
    for name, path in files.items():
        metrics[name] = _metrics(onnx_embedder_class(path), ctx.work_dir / f"eval-index-{name.replace(' ', '-')}")
    keys = [k for k in METRIC_KEYS if k in metrics["pytorch"]]
    sec.add("Eval metrics through the whole assistant (`python -m eval` scoring), index rebuilt with each encoder:", "")
    sec.table(["metric", *metrics], [[k, *(metrics[n].get(k) for n in metrics)] for k in keys])
    for name in files:
        worst = max(abs((metrics[name].get(k) or 0) - (metrics["pytorch"].get(k) or 0)) for k in keys)
        sec.add(f"- {name}: largest metric change {worst:.3f} ({'within' if worst <= 0.01 else 'outside'} the 0.01 allowed); "
                f"encode p50 ratio to PyTorch {ratio(summary(lat[name])['p50'], base):.2f}.")
    sec.add("")
    sec.numbers = {"latency": {n: summary(v) for n, v in lat.items()}, "metrics": metrics}
    return sec
