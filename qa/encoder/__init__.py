"""The encoder: turns texts into L2-normalised sentence vectors.

One job: load the bundled MiniLM once (ONNX Runtime by default, PyTorch as the
fallback), verify it, and encode questions in shared micro-batches. It may
import ``qa.config`` and ``qa.errors`` only; it knows nothing of passages,
retrieval or decisions. ``Embedder`` (in ``embedder``) is the one entry point.
"""
