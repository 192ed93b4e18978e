"""The ONNX trial: qa's ONNX encoder (the bundled model exported by
``qa.encoder.onnx_export`` and run by ``qa.encoder.onnx_encoder``, fp32), the same model
dynamically quantised to int8, and PyTorch: single-question encode latency,
and the eval metrics through the whole assistant with its index rebuilt by
each encoder, on every question set in ``eval/`` (``questions.csv`` alone
once let int8 pass while the held-out sets moved by 0.065). No ``optimum``,
no ``sentence-transformers[onnx]`` (they downgrade transformers here). fp32
is what qa uses by default. This module measures; it does not change ``qa``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from bench.context import Context
from bench.stats import Section, ratio, summary, timed

METRIC_KEYS = ("hit@1", "hit@3", "hit@5", "mrr@10", "answer@1", "oos_abstain", "false_abstain", "red_flag_recall", "false_urgent")


def quantise(model_path: Path, folder: Path) -> Path:
    """The model exported plainly (``qa.encoder.onnx_export.export_onnx``, before
    onnxruntime's fusions, which the quantiser cannot read) with its weights
    dynamically quantised to int8 (onnxruntime's quantiser)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.encoder.onnx_export import export_onnx
    from qa.encoder.torch_encoder import load_sentence_transformer

    folder.mkdir(parents=True, exist_ok=True)
    plain, int8 = folder / "model-fp32-plain.onnx", folder / "model-int8.onnx"
    export_onnx(load_sentence_transformer(model_path, threads=1), plain)
    quantize_dynamic(str(plain), str(int8), weight_type=QuantType.QInt8)
    return int8


def _megabytes(graph: Path) -> float:
    """Size of an ONNX graph file plus the weights file beside it, if it has one."""
    weights = graph.parent / "weights.bin"
    return (graph.stat().st_size + (weights.stat().st_size if weights.is_file() else 0)) / 2**20


def onnx_file_embedder(onnx_file: Path):
    """An ``Embedder`` class whose encoder runs ``onnx_file`` with qa's ONNX encoder.

    Its fingerprint names the file too: a quantised graph is another model (cosine 0.5-1.0 to
    PyTorch's vectors), so its index and the labelled vectors a build keeps
    (``qa.encoder.kept_vectors``, by fingerprint and backend) are never the fp32 model's."""
    from qa.encoder.embedder import Embedder, torch_threads
    from qa.encoder.onnx_encoder import open_onnx_encoder

    class FileEmbedder(Embedder):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.fingerprint = f"{self.fingerprint}-{onnx_file.stem}-{onnx_file.stat().st_size}"

        def _load(self):
            return open_onnx_encoder(onnx_file, self.path, threads=torch_threads())

    return FileEmbedder


def _metrics(embedder_factory, index_dir: Path, *, limit: int | None = None) -> dict[str, dict]:
    """Eval metrics of each question set (by file name) through an assistant with this encoder;
    ``limit``: only the first N questions of each set (``--questions``)."""
    from eval.dataset import load_questions, question_sets
    from eval.runner import run
    from eval.scoring import evaluate
    from qa import Assistant

    assistant = Assistant.load(index_dir=index_dir, embedder=embedder_factory(None))
    by_set = {}
    for path in question_sets():
        questions = load_questions(path)[:limit]
        assistant.clear_cache()
        by_set[path.name] = evaluate(questions, run(assistant, questions, progress=False)).metrics
    return by_set


def onnx(ctx: Context) -> Section:
    from qa.encoder.embedder import Embedder
    from qa.encoder.onnx_cache import cached_onnx_file

    path = ctx.assistant.embedder.path
    fp32 = Embedder(path, backend="onnx")
    fp32.model  # exported into qa's encoder cache now, unless it already was
    files = {"onnx fp32": cached_onnx_file(fp32.fingerprint)}
    files["onnx int8"] = quantise(path, ctx.work_dir / "onnx")
    factories = {"pytorch": functools.partial(Embedder, backend="torch"),
                 "onnx fp32": functools.partial(Embedder, backend="onnx"),
                 "onnx int8": onnx_file_embedder(files["onnx int8"])}
    encoders = {"pytorch": Embedder(path, backend="torch"), "onnx fp32": fp32, "onnx int8": factories["onnx int8"](path)}
    qs = ctx.questions
    for e in encoders.values():
        e.encode(qs[:4])
    lat = {name: [] for name in encoders}
    for i, q in enumerate(qs):
        names = list(encoders) if i % 2 == 0 else list(encoders)[::-1]
        for name in names:
            lat[name].append(timed(encoders[name].encode, [q])[0])
    ref = encoders["pytorch"].encode(qs)
    sec = Section("onnx", "ONNX Runtime trial (fp32 and int8) vs PyTorch")
    rows = []
    base = summary(lat["pytorch"])["p50"]
    for name, e in encoders.items():
        s = summary(lat[name])
        cos = float(np.mean(np.sum(e.encode(qs) * ref, axis=1)))
        rows.append([name, s["p50"], s["p95"], ratio(s["p50"], base), cos, _megabytes(files[name]) if name in files else np.nan])
    sec.add(f"Single-question encode over {len(qs)} eval questions, the three encoders interleaved. "
            "Export: `qa.encoder.onnx_export` (`torch.onnx.export`, TorchScript exporter) of transformer + mean pooling + "
            "normalisation, run by `qa.encoder.onnx_encoder` (qa's default encoder); int8: "
            "`onnxruntime.quantization.quantize_dynamic` (QInt8 weights) of the model exported plainly (the quantiser cannot read onnxruntime's fused graph).", "")
    sec.table(["encoder", "p50 ms", "p95 ms", "p50 ratio to PyTorch", "mean cosine to PyTorch", "file MB"], rows)
    by_set = {name: _metrics(factory, ctx.work_dir / f"eval-index-{name.replace(' ', '-')}", limit=ctx.max_questions)
              for name, factory in factories.items()}
    sets = list(by_set["pytorch"])
    metrics = {name: by_set[name][sets[0]] for name in by_set}
    keys = [k for k in METRIC_KEYS if k in metrics["pytorch"]]

    def change(name: str, set_name: str) -> tuple[float, str]:
        """The largest metric change from PyTorch on one set, and which metric."""
        mine, ref = by_set[name][set_name], by_set["pytorch"][set_name]
        return max((abs((mine.get(k) or 0) - (ref.get(k) or 0)), k) for k in keys)

    each = f" (the first {ctx.max_questions} questions of each set)" if ctx.max_questions else ""
    sec.add(f"Eval metrics through the whole assistant (`python -m eval` scoring), index rebuilt with each encoder{each}; "
            f"{sets[0]}:", "")
    sec.table(["metric", *metrics], [[k, *(metrics[n].get(k) for n in metrics)] for k in keys])
    sec.add("Largest metric change from PyTorch on each question set (metric in brackets):", "")
    def shown(value: float, metric: str, where: str = "") -> str:
        return f"{value:.3f} ({metric}{', ' + where if where else ''})" if value else "0 (none changed)"

    sec.table(["question set", *files], [[s, *(shown(*change(n, s)) for n in files)] for s in sets])
    for name in files:
        worst, metric, where = max((*change(name, s), s) for s in sets)
        sec.add(f"- {name}: largest metric change {shown(worst, metric, where)}, {'within' if worst <= 0.01 else 'outside'} "
                f"the 0.01 allowed; encode p50 ratio to PyTorch {ratio(summary(lat[name])['p50'], base):.2f}.")
    sec.add("")
    sec.numbers = {"latency": {n: summary(v) for n, v in lat.items()}, "metrics": by_set}
    return sec
