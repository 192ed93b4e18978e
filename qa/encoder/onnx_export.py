"""Export a sentence-transformers model to fp32 ONNX with ``torch.onnx``.

The graph is the transformer, mean pooling over real tokens and L2
normalisation, so onnxruntime's output is the sentence vector itself. The
exporter is the TorchScript one (``dynamo=False``, opset 17), which needs
only ``torch`` and ``onnx``: no ``optimum`` and no
``sentence-transformers[onnx]``, which downgrade huggingface-hub and
transformers below what Gradio 6 requires. Only the module layout the graph
reproduces is exported (Transformer, mean Pooling, optional Normalize);
anything else is refused, and the caller keeps PyTorch.

``optimise_onnx`` then stores the graph as onnxruntime optimises it, with
the weights in a file of their own: a session over that pair starts in about
30 ms instead of 110-160 ms, because it neither parses 87 MB of protobuf
nor optimises the graph again at every start (bench/RESULTS.md, "Cold
start"); its vectors are bit for bit those of the plain export.

This is the one place outside ``torch_encoder`` that imports torch. It writes
the files it is given; choosing them, verifying them and publishing them
atomically is ``onnx_cache``'s job.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

#: Changes whenever the exported graph would change; part of the cache key.
EXPORT_FORMAT = "torchscript-opset17-meanpool-l2-ort-extended-external-v2"
OPSET = 17
#: An export is a folder holding the optimised graph and its weights.
GRAPH_FILE = "model.onnx"
WEIGHTS_FILE = "weights.bin"

#: Module layouts (class names from modules.json) the graph reproduces.
LAYOUTS = (("Transformer", "Pooling"), ("Transformer", "Pooling", "Normalize"))


def unsupported_reason(model_path: Path) -> str | None:
    """Why the export cannot reproduce this model folder, or None when it can."""
    try:
        entries = json.loads((model_path / "modules.json").read_text())
        layout = tuple(m["type"].rsplit(".", 1)[-1] for m in entries)
        if layout not in LAYOUTS:
            return f"modules {layout} are not Transformer + Pooling (+ Normalize)"
        pooling = json.loads((model_path / entries[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"cannot read modules.json and the pooling config ({type(exc).__name__})"
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode_") and v)
    if modes != ["pooling_mode_mean_tokens"]:
        return f"pooling {modes} is not mean pooling"
    return None


def export_onnx(model, target: Path) -> None:
    """Write ``model`` (a loaded SentenceTransformer) as ONNX to ``target``.

    Inputs ``input_ids`` and ``attention_mask`` (int64, batch x tokens, both
    axes dynamic); output ``embedding`` (float32, batch x dimension).
    """
    import inspect

    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer
            self.segments = "token_type_ids" in inspect.signature(transformer.forward).parameters

        def forward(self, input_ids, attention_mask):
            extra = {"token_type_ids": torch.zeros_like(input_ids)} if self.segments else {}  # one segment
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            # Mean pooling over real tokens, then unit length (so inner product = cosine).
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = model.tokenizer(["a hip injection", "will it hurt afterwards"], padding=True, return_tensors="pt")
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(None):
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(Encoder(model[0].auto_model).eval(), (sample["input_ids"], sample["attention_mask"]),
                          str(target), input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def optimise_onnx(source: Path, folder: Path) -> None:
    """Write ``source`` as onnxruntime optimises it to ``folder``: ``GRAPH_FILE``
    with its weights in ``WEIGHTS_FILE``.

    The EXTENDED level (operator fusions) and not ALL: ALL adds layout changes
    for this machine's CPU, which onnxruntime warns may not run elsewhere;
    each session still applies them when it loads, in a few milliseconds.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(folder / GRAPH_FILE)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", WEIGHTS_FILE)
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
