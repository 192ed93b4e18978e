"""Sections 4 and 5: cold start of a fresh process, and building the index.

4. A new Python process that starts the way ``app.py`` and ``python -m qa
   ask`` do (``preload_encoder()``, then the imports, ``Assistant.load()``
   with the index already built, one question), beside a process that only
   imports the libraries it needs with the encoder backend in use
   (onnxruntime and tokenizers, or torch and sentence-transformers); runs
   alternate. Both children get the bench's backend in ``QA_ENCODER`` and,
   for ONNX, find the export the bench's own assistant made, so the cold
   start never includes an export. The child prints wall-clock stamps, so
   the time splits into interpreter, imports (the encoder loading beside
   them), the rest of loading, and the first answer.
5. ``build_index`` on the real corpus beside bare ``encode`` of the same
   view texts, alternating. This module starts no servers.
"""

from __future__ import annotations

import json
import subprocess
import time

from bench import plots
from bench.context import PYTHON, REPO, Context
from bench.stats import Check, Section, ratio, summary, timed

#: What each encoder backend needs imported to answer, besides the standard library.
IMPORTS = {
    "onnx": "import numpy, onnxruntime, tokenizers, faiss, bm25s, Stemmer",
    "torch": "import numpy, torch, sentence_transformers, faiss, bm25s, Stemmer",
}


def bare_code(imports: str) -> str:
    return f"import time; {imports}; print(time.time())"


def cold_code() -> str:
    """What ``app.py`` does before serving, without the web server: start the
    encoder loading, import the rest, load, answer."""
    return (
        "import time, json; t = {'interpreter': time.time()}\n"
        "import qa; qa.preload_encoder(); import qa.assistant; t['imports'] = time.time()\n"
        "a = qa.Assistant.load(rebuild='never'); t['loaded'] = time.time()\n"
        "a.ask('What is a hip injection?'); t['answered'] = time.time()\n"
        "print(json.dumps(t))\n"
    )


def _run_child(ctx: Context, code: str, backend: str) -> tuple[float, str]:
    spawn = time.time()
    out = subprocess.run([PYTHON, "-c", code], env=ctx.child_env(QA_ENCODER=backend), cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-800:]}")
    return spawn, out.stdout.strip().splitlines()[-1]


def compile_project() -> None:
    """Byte-compile ``qa`` and ``qa_web`` as ``scripts/setup.sh`` does, so the
    cold start measures an installed app, not one that compiles its own
    sources at every start (PYTHONDONTWRITEBYTECODE, or edits since setup)."""
    import compileall

    for package in ("qa", "qa_web"):
        compileall.compile_dir(str(REPO / package), quiet=1)


def coldstart(ctx: Context) -> Section:
    backend = ctx.assistant.embedder.backend  # the index and any ONNX export exist now: children only load
    compile_project()  # the libraries in the bare imports are byte-compiled by pip
    imports = IMPORTS[backend]
    reps = 2 if ctx.quick else 5
    bare_ms, cold = [], []
    for i in range(reps):
        order = ("bare", "cold") if i % 2 == 0 else ("cold", "bare")
        for kind in order:
            spawn, line = _run_child(ctx, bare_code(imports) if kind == "bare" else cold_code(), backend)
            if kind == "bare":
                bare_ms.append((float(line) - spawn) * 1000)
            else:
                stamps = json.loads(line)
                cold.append({k: (v - spawn) * 1000 for k, v in stamps.items()})
    sb = summary(bare_ms)
    first = summary([c["answered"] for c in cold])
    steps = {name: summary([c[name] - c[prev] for c in cold])["p50"]
             for prev, name in (("interpreter", "imports"), ("imports", "loaded"), ("loaded", "answered"))}
    steps["interpreter start"] = summary([c["interpreter"] for c in cold])["p50"]
    sec = Section("coldstart", "4. Cold start")
    sec.add(f"{reps} runs each, alternating, encoder backend {backend}. Bare imports: `python -c \"{imports}\"` from "
            "spawn to the end of the imports. Cold start: spawn to the first answer of `Assistant.load()` + `ask()` "
            "with the index (and the ONNX export) already made, started as `app.py` starts: `qa.preload_encoder()` "
            "first, so the encoder loads on a thread while FAISS and bm25s import. `qa` and `qa_web` are "
            "byte-compiled first, as `scripts/setup.sh` and pip (for the libraries) do.", "")
    sec.table(["", "median ms", "ratio to bare imports"],
              [["bare imports", sb["p50"], 1.0], ["process start → first answer", first["p50"], ratio(first["p50"], sb["p50"])]])
    sec.add("Cold start split (medians): interpreter start; imports (the same libraries plus `qa`, while the "
            "encoder loads beside them); `Assistant.load()` (read and verify the index, prepare glossary, spelling "
            "and retriever, wait for the encoder and its probe check); first `ask()`:", "")
    sec.table(["step", "ms"], [["interpreter start", steps["interpreter start"]], ["imports", steps["imports"]],
                               ["Assistant.load()", steps["loaded"]], ["first ask()", steps["answered"]]])
    sec.checks.append(Check("cold start ≤ 1.5× bare import time", ratio(first["p50"], sb["p50"]), 1.5,
                            f"{first['p50']:.0f} ms vs {sb['p50']:.0f} ms"))
    sec.numbers = {"bare": sb, "first_answer": first, "steps": steps, "backend": backend}
    return sec


def build(ctx: Context) -> Section:
    from qa.corpus import read_corpus
    from qa.dense import passage_views
    from qa.index_store import build_index
    from qa.passages import build_passages

    a = ctx.assistant
    files = read_corpus(a.paths.corpus_dir)
    passages = build_passages(files)
    texts = [v.text for v in passage_views(passages)]
    reps = 2 if ctx.quick else 3
    build_ms, enc_ms = [], []
    a.embedder.encode(texts[:8])
    for i in range(reps):
        steps = [("enc", lambda: a.embedder.encode(texts)),
                 ("build", lambda: build_index(files, a.embedder, ctx.work_dir / f"build-{i}"))]
        for name, fn in (steps if i % 2 == 0 else steps[::-1]):
            (enc_ms if name == "enc" else build_ms).append(timed(fn)[0])
    sb, se = summary(build_ms), summary(enc_ms)
    sec = Section("build", "5. Index build")
    sec.add(f"Real corpus: {len(passages)} passages, {len(texts)} embedded views (passages + their sentences). "
            f"{reps} runs each, alternating; `encode` is bare `Embedder.encode` ({a.embedder.backend}) of exactly the "
            "texts the build embeds.", "")
    sec.table(["", "median ms", "passages/s", "views/s", "ratio to encode"],
              [["`build_index()`", sb["p50"], len(passages) / sb["p50"] * 1000, len(texts) / sb["p50"] * 1000, ratio(sb["p50"], se["p50"])],
               ["bare encode of the views", se["p50"], len(passages) / se["p50"] * 1000, len(texts) / se["p50"] * 1000, 1.0]])
    sec.figures.append(plots.bars("build.png", ctx.out_dir, ["build_index()", "bare encode"], [sb["p50"], se["p50"]],
                                  ylabel="ms (median)", title=f"Index build, {len(passages)} passages / {len(texts)} views"))
    sec.numbers = {"build": sb, "encode": se, "passages": len(passages), "views": len(texts)}
    return sec
