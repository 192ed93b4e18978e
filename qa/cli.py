"""Command line for the content team and for quick checks: ``python -m qa``.

Sub-commands: ``build`` (rebuild the index), ``passages`` (the passage
table), ``ask`` (answer one question, as text or ``--json``), ``check``
(verify the index against corpus and model), ``feedback`` (kept patient
feedback: ``qa.feedback.cli``). Library errors become one-line
messages and exit code 2; this module holds no retrieval logic.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap

from .config import ENV_CORPUS_DIR, ENV_INDEX_DIR, ENV_MODEL_PATH
from .errors import QAError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m qa",
        description="Answer patient questions about hip injections by quoting the clinic's document.",
        epilog=textwrap.dedent(
            f"""\
            examples:
              python -m qa build                      rebuild index/ from corpus/*.md
              python -m qa passages                   list passages (id, heading path, words)
              python -m qa ask "will the shot hurt?"  quoted answer with sources
              python -m qa ask --json -k 5 "..."      the answer as JSON (Answer.to_dict())
              python -m qa check                      is the index current and intact?

            environment: {ENV_CORPUS_DIR}, {ENV_INDEX_DIR}, {ENV_MODEL_PATH} (same as the flags);
              QA_ENCODER=auto|onnx|torch  encoder backend (default auto: ONNX Runtime, else PyTorch)
              QA_ENCODER_CACHE=DIR        where the one-time ONNX export is kept (default: index/encoders/)"""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus-dir", help="folder of the clinic's .md files (default: corpus/)")
    parser.add_argument("--index-dir", help="folder of the built index (default: index/)")
    parser.add_argument("--model-path", help="sentence-transformers model folder (default: bundled all-MiniLM-L6-v2)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is happening to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("build", help="build the index from the corpus (atomic: the old index stays until the new one is complete)")
    sub.add_parser("passages", help="print the passage table: id, heading path, words")
    sub.add_parser("check", help="verify the index: present, intact, built from this corpus and model")
    ask = sub.add_parser("ask", help="answer one question by quoting the document")
    ask.add_argument("question", help="the patient's question, in quotes")
    ask.add_argument("-k", type=int, default=3, help="number of passages to show (1-10, default 3)")
    ask.add_argument("--json", action="store_true", help="print Answer.to_dict() as JSON")
    from .feedback.cli import add_parser as add_feedback_parser  # list | export | purge | add-user

    add_feedback_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s", stream=sys.stderr)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    locations = {"corpus_dir": args.corpus_dir, "index_dir": args.index_dir, "model_path": args.model_path}
    try:
        return _COMMANDS[args.command](args, locations)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _build(args, locations) -> int:
    from .config import resolve_paths
    from .corpus import read_corpus
    from .assistant import build
    from .encoder.embedder import Embedder
    from .training import DECISIONS_FILE

    paths = resolve_paths(**locations)
    folder = build(read_corpus(paths.corpus_dir), Embedder(paths.model_path), paths, progress=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    learned = json.loads((paths.index_dir / DECISIONS_FILE).read_text())["payload"]
    decisions = (f"; decisions learned from {learned['messages']} labelled messages" if learned["models"]
                 else "; no labelled sets, so the decisions use the rules alone")
    print(f"built {manifest['passage_count']} passages ({manifest['view_count']} vectors) into {paths.index_dir}{decisions}")
    return 0


def _passages(args, locations) -> int:
    from .config import resolve_paths
    from .corpus import read_corpus
    from .passages import build_passages

    passages = build_passages(read_corpus(resolve_paths(**locations).corpus_dir))
    width = max(len(p.id) for p in passages)
    print(f"{'id':<{width}}  {'words':>5}  heading path")
    for p in passages:
        print(f"{p.id:<{width}}  {p.words:>5}  {p.heading}")
    print(f"{len(passages)} passages")
    return 0


def _check(args, locations) -> int:
    from .assistant import index_alternates
    from .config import resolve_paths
    from .corpus import read_corpus
    from .encoder.embedder import Embedder
    from .index_store import expected_manifest, load_index
    from .passages import ChunkingSettings

    paths = resolve_paths(**locations)
    embedder = Embedder(paths.model_path)
    expected = expected_manifest(read_corpus(paths.corpus_dir), embedder, ChunkingSettings(),
                                 index_alternates(paths.corpus_dir))
    index = load_index(paths.index_dir, expected=expected, dimension=embedder.dimension)
    print(f"ok: {len(index.passages)} passages, built {index.manifest['built_at']} with {index.manifest['model']['name']}"
          f" (encoder backend: {embedder.backend})")
    return 0


def _ask(args, locations) -> int:
    from .encoder.embedder import preload_encoder

    preload_encoder(locations.get("model_path"))  # loads while the retrieval libraries import
    from .assistant import Assistant

    answer = Assistant.load(**locations).ask(args.question, k=args.k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 2 if answer.input_error else 0
    print(answer.message)
    for n, passage in enumerate(answer.passages if not answer.abstained else (), start=1):
        print(f"\n[{n}] {passage.heading_path}  ({passage.source}, chars {passage.start}-{passage.end})")
        print(textwrap.indent(passage.plain_text, "    "))
    if answer.best_sentence and not answer.abstained:
        print(f"\nBest sentence: {answer.best_sentence}")
    if answer.related_questions:
        print("\nRelated questions: " + " | ".join(answer.related_questions))
    return 0 if not answer.input_error else 2


def _feedback(args, locations) -> int:
    from .feedback.cli import run

    return run(args, locations)


_COMMANDS = {"build": _build, "passages": _passages, "check": _check, "ask": _ask, "feedback": _feedback}
