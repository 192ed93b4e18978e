"""The encoder: turns texts into L2-normalised sentence vectors.

One job: load the bundled MiniLM once (ONNX Runtime by default, PyTorch as the
fallback), verify it, and encode questions in shared micro-batches.
``Embedder`` (in ``embedder``) is the one entry point; ``onnx_export``,
``onnx_cache``, ``onnx_encoder`` and ``torch_encoder`` are the backends and
their files, ``batching`` the shared batches.

May import: of ``qa``, only ``qa.encoder``, ``qa.config`` and ``qa.errors``
(tests/test_architecture.py); it knows nothing of passages, retrieval or
decisions.
"""
