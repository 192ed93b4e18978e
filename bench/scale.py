"""Section 6: synthetic corpora of growing size (``scale``), and exact vs HNSW search (``vectors``).

Corpora (1k/10k/100k passages by default) are varied corpus sentences,
really encoded, one view per passage; each gets a real FAISS index, BM25
index and ``Retriever`` inside an ``Assistant``, and the eval questions go
through ``ask()`` at every size, interleaved with the real corpus. Then,
as its own section, search alone on up to 1M vectors (noisy copies of
synthetic-passage embeddings): exact ``IndexFlatIP`` vs ``IndexHNSWFlat``
at several efSearch, recall against exact, and the app's own call (its M,
efSearch and depth, imported from ``qa.dense``). This module measures;
``synthetic`` makes the data; neither decides the settings, ``qa.dense`` does.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager

import numpy as np

from bench import plots
from bench.context import Context, clear_cache
from bench.inprocess import breakdown, warm_up
from bench.stats import Check, Section, ratio, summary, timed
from bench.synthetic import noisy_vectors, synthetic_passages, synthetic_texts
from qa.dense import (APPROXIMATE_FROM, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_NEIGHBOURS, SEARCH_ALL_UP_TO,
                      SEARCH_DEPTH)

EF_SEARCH = (16, 32, 64, 128, 256, 512, 1024, 2048)
PLOTTED_EF = (64, 256, 1024)
CORES = len(os.sched_getaffinity(0))
RECALL_TARGET = 0.99
#: Synthetic passages encoded as the base of the noisy vectors when ``scale`` did not run first.
VECTOR_BASE = 20_000
#: qa.dense's efSearch before it was measured at the app's depth (with faiss's default efConstruction, 40).
PREVIOUS_EF_SEARCH = 512


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _folder_mb(path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _corpus_parts(a):
    from qa.text import sentence_spans

    sentences = [p.plain_text[s:e].strip() for p in a.index.passages for s, e in sentence_spans(p.plain_text)]
    sentences = [s for s in dict.fromkeys(sentences) if len(s.split()) >= 5]
    headings = sorted({p.heading_path[-1] for p in a.index.passages if p.heading_path}) or ["Hip injections"]
    return sentences, sorted(a.glossary.words()), headings


def _assistant_over(a, passages, vectors, folder):
    import faiss

    from qa.dense import make_index, passage_views
    from qa.index_store import Index, lexical_document
    from qa.lexical import LexicalIndex

    views = passage_views(passages, sentences=False)  # one vector per passage
    times = {}
    times["faiss index"], dense = timed(make_index, vectors)
    times["BM25 index"], lexical = timed(LexicalIndex.build, [lexical_document(p) for p in passages])
    index = Index(folder, {}, tuple(passages), tuple(views), dense, lexical)
    times["retriever"], sub = timed(a.over_index, index)
    folder.mkdir(parents=True, exist_ok=True)
    faiss.write_index(dense, str(folder / "dense.faiss"))
    lexical.save(folder / "bm25")
    (folder / "passages.txt").write_text("\n".join(p.plain_text for p in passages))
    return sub, times, len(views)


def _synthetic(a, n: int):
    """The first ``n`` synthetic passages and their one-view texts (same seed, so the same prefix for any n)."""
    from qa.dense import passage_views

    sentences, terms, headings = _corpus_parts(a)
    passages = synthetic_passages(synthetic_texts(sentences, terms, n), headings)
    return sentences, passages, [v.text for v in passage_views(passages, sentences=False)]


def scale(ctx: Context) -> Section:
    sec = Section("scale", "6. Scale")
    a = ctx.assistant
    warm_up(a)
    sizes = sorted(ctx.scale_sizes)
    sentences, passages, texts = _synthetic(a, sizes[-1])
    limit = min(ctx.encode_limit or sizes[-1], sizes[-1])
    chunks, encode_ms, done = [], {}, 0
    start = time.perf_counter()
    for size in sizes:
        if done < limit:
            chunks.append(a.embedder.encode(texts[done:min(size, limit)]))
            done = min(size, limit)
        encode_ms[size] = (time.perf_counter() - start) * 1000 * (size / done)  # extrapolated past the limit
    vectors = np.concatenate(chunks)
    if len(vectors) < sizes[-1]:
        vectors = np.concatenate([vectors, noisy_vectors(vectors, sizes[-1] - len(vectors), noise=0.3)])
    subs, rows = {}, []
    for size in sizes:
        rss0 = _rss_mb()
        sub, times, n_views = _assistant_over(a, passages[:size], vectors[:size], ctx.work_dir / f"scale-{size}")
        subs[size] = sub
        build_ms = encode_ms[size] + sum(times.values())
        rows.append([size, "real" if size <= limit else f"{limit:,} real + noisy copies", build_ms / 1000, size / build_ms * 1000, times["faiss index"], times["BM25 index"],
                     _folder_mb(ctx.work_dir / f"scale-{size}"), _rss_mb() - rss0])
    qs = ctx.questions[: 40 if ctx.quick else 80]
    lat = {"real": [], **{s: [] for s in sizes}}
    for q in qs:
        for key, assistant in (("real", a), *subs.items()):
            clear_cache(assistant)
            lat[key].append(timed(assistant.ask, q)[0])
    sreal = summary(lat["real"])
    sec.add(f"Synthetic passages: {len(sentences)} distinct corpus sentences varied (spliced with another sentence, a "
            "glossary term added, a word dropped) into distinct one-sentence passages under real headings, so each "
            "passage has exactly one embedded view (the real corpus has about 3 views per passage: whole passage + "
            "sentences). Encoding is real (`Embedder.encode`, its default batches); build time = encode + FAISS + BM25 + retriever set-up.", "")
    if limit < sizes[-1]:
        sec.add(f"**Encoding was capped at {limit:,} passages** (`--encode-limit`): for larger corpora the texts are real and "
                "BM25 indexes all of them, but vectors past the cap are noisy copies (cosine ≈ 0.96) of encoded ones, and "
                "the build time's encode part is extrapolated linearly from the measured encode rate.", "")
    sec.table(["passages", "vectors", "build s", "passages/s", "FAISS build ms", "BM25 build ms", "on disk MB", "RSS growth MB"], rows)
    srows = [["real corpus", len(a.index.passages), sreal["p50"], sreal["p95"], 1.0]]
    for s in sizes:
        ss = summary(lat[s])
        srows.append([f"synthetic {s:,}", s, ss["p50"], ss["p95"], ratio(ss["p50"], sreal["p50"])])
    sec.add(f"`ask()` over the same {len(qs)} eval questions, uncached, interleaved question by question across corpora:", "")
    sec.table(["corpus", "passages", "ask p50 ms", "ask p95 ms", "p50 ratio to real corpus"], srows)
    big = sizes[-1]
    sec.checks.append(Check(f"{big:,} passages: ask p50 ≤ 2× p50 at the real corpus size", ratio(summary(lat[big])["p50"], sreal["p50"]), 2.0,
                            f"{summary(lat[big])['p50']:.1f} ms vs {sreal['p50']:.1f} ms"))
    steps = breakdown(subs[big], qs[:30])
    sec.add(f"Where the time goes at {big:,} passages (mean ms per uncached ask):", "")
    sec.table(["step", "mean ms", "share"], [[k, v, ratio(v, steps["ask() total"])] for k, v in steps.items()])
    sec.figures.append(plots.lines("scale_ask.png", ctx.out_dir, [len(a.index.passages), *sizes],
                                   {"ask p50": [sreal["p50"]] + [summary(lat[s])["p50"] for s in sizes],
                                    "ask p95": [sreal["p95"]] + [summary(lat[s])["p95"] for s in sizes]},
                                   xlabel="passages", ylabel="ms", title="ask() latency vs corpus size", logx=True))
    sec.numbers["corpora"] = {str(s): summary(lat[s]) for s in sizes} | {"real": sreal}
    ctx._scale_base = vectors  # reused as the seed of the search-only section
    for size in sizes:
        shutil.rmtree(ctx.work_dir / f"scale-{size}", ignore_errors=True)
    return sec


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean over queries of the share of the exact top ``k`` (``truth`` rows, best first) in ``found``'s top ``k``."""
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


@contextmanager
def _omp_threads(n: int):
    """FAISS's OpenMP threads for a block: one per search, as the server answers a question; every core to build, as ``python -m qa build``."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _search_ms(index, queries: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """p50 ms of one-query searches on one thread, and the ids found, one row per query."""
    times, ids = [], []
    with _omp_threads(1):
        for q in queries:
            ms, (_, found) = timed(index.search, q.reshape(1, -1), k)
            times.append(ms)
            ids.append(found[0])
    return summary(times)["p50"], np.array(ids)


def _base(ctx: Context) -> tuple[np.ndarray, str]:
    """Embeddings the noisy vectors are copied from: the corpus part's, or freshly encoded synthetic passages."""
    base = getattr(ctx, "_scale_base", None)
    if base is not None:
        return base, f"the {len(base):,} synthetic-passage embeddings of the corpus part (`scale`)"
    n = ctx.encode_limit or (2_000 if ctx.quick else VECTOR_BASE)
    _, _, texts = _synthetic(ctx.assistant, n)
    ms, base = timed(ctx.assistant.embedder.encode, texts)
    return base, f"the embeddings of {n:,} synthetic passages made as in `scale`, encoded here ({ms / 1000:.0f} s)"


def _deep_rows(index, queries, truth, mark: int, efs, exact_ms: float, labels: dict[int, str]) -> tuple[list, dict]:
    """The app's call (k = depth of ``truth``) at each efSearch: table rows, and {efSearch: (recall@10, @100, @depth)}."""
    depth, rows, recalls = truth.shape[1], [], {}
    for ef in efs:
        index.hnsw.efSearch = ef
        ms, found = _search_ms(index, queries, depth)
        recalls[ef] = tuple(recall_at(found, truth, k) for k in (10, 100, depth))
        rows.append([mark, f"{ef:,} {labels[ef]}" if ef in labels else ef, *(f"{r:.3f}" for r in recalls[ef]),
                     ms, exact_ms, ratio(ms, exact_ms)])
    return rows, recalls


def search_plot(out_dir, marks: list[int], curve: dict[str, list[float]]) -> str:
    """Exact, the app's call, and k=10 HNSW at a few efSearch (every line would hide the others)."""
    shown = {f"HNSW ef={ef} k=10" for ef in PLOTTED_EF}
    series = {k: v for k, v in curve.items() if not k.startswith("HNSW") or k in shown or k.endswith("(app)")}
    return plots.lines("scale_search.png", out_dir, marks, series, xlabel="vectors", ylabel="p50 ms per query",
                       title="FAISS search: exact vs HNSW", logx=True, logy=True)


def vectors(ctx: Context) -> Section:
    import faiss

    m, efc, ef_app, depth = HNSW_NEIGHBOURS, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, SEARCH_DEPTH
    sec = Section("vectors", f"6. Scale: search only, exact vs HNSW (M={m}), up to {ctx.vectors:,} vectors")
    base, base_note = _base(ctx)
    queries = ctx.assistant.embedder.encode(ctx.questions[:50])
    n = ctx.vectors
    data = noisy_vectors(base, n)
    marks = [s for s in (10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000) if s < n] + [n]
    app_efs = sorted({ef_app, *(ef for ef in EF_SEARCH if ef >= depth)})
    flat = faiss.IndexFlatIP(data.shape[1])
    hnsw = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = efc
    rows, app_rows, app, exact_deep = [], [], {}, {}
    curve, build_ms, done = {"exact k=10": [], f"exact k={depth}": []}, 0.0, 0
    for mark in marks:
        flat.add(data[done:mark])
        with _omp_threads(CORES):
            build_ms += timed(hnsw.add, data[done:mark])[0]
        done = mark
        exact10, truth10 = _search_ms(flat, queries, 10)
        exact_deep[mark], truth = _search_ms(flat, queries, depth)
        curve["exact k=10"].append(exact10)
        curve[f"exact k={depth}"].append(exact_deep[mark])
        for ef in EF_SEARCH:
            hnsw.hnsw.efSearch = ef
            ms, found = _search_ms(hnsw, queries, 10)
            curve.setdefault(f"HNSW ef={ef} k=10", []).append(ms)
            rows.append([mark, ef, f"{recall_at(found, truth10, 10):.3f}", ms, exact10, ratio(ms, exact10)])
        deep, recalls = _deep_rows(hnsw, queries, truth, mark, app_efs, exact_deep[mark], {ef_app: "(app)"})
        app_rows += deep
        app[mark] = recalls[ef_app]
        curve.setdefault(f"HNSW ef={ef_app} k={depth} (app)", []).append(float(deep[app_efs.index(ef_app)][5]))
    # The same graph built with faiss's default efConstruction, at the largest size only: what the build setting buys.
    plain = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    with _omp_threads(CORES):
        plain_ms = timed(plain.add, data)[0]
    plain_rows, _ = _deep_rows(plain, queries, truth, n, app_efs, exact_deep[n], {PREVIOUS_EF_SEARCH: "(previous app setting)"})
    del plain
    sec.add(f"Vectors: {base_note}, cycled, plus Gaussian noise (cosine ≈ 0.86 to their source), normalised; "
            f"queries: {len(queries)} real eval-question embeddings; one query per call on one OpenMP thread, as the server "
            f"answers a question; HNSW builds on all {CORES} cores, as `python -m qa build`. "
            f"Recall@k = share of the exact top k that HNSW returns, mean over queries. The settings are "
            f"`qa.dense`'s: HNSW_NEIGHBOURS (M)={m}, HNSW_EF_CONSTRUCTION={efc}, HNSW_EF_SEARCH={ef_app}, SEARCH_DEPTH={depth}; "
            f"`make_index` searches exactly below APPROXIMATE_FROM={APPROXIMATE_FROM:,} vectors. "
            f"HNSW build (adds) for {n:,} vectors: {build_ms / 1000:.1f} s, {n / build_ms * 1000:,.0f} vectors/s.", "",
            "A k=10 search at each efSearch:", "")
    sec.table(["vectors", "efSearch", "recall@10", "HNSW p50 ms (k=10)", "exact p50 ms (k=10)", "HNSW / exact"], rows)
    head = ["vectors", "efSearch", "recall@10", "recall@100", f"recall@{depth}", f"HNSW p50 ms (k={depth})",
            f"exact p50 ms (k={depth})", "HNSW / exact"]
    sec.add(f"The app's call: k={depth} (the retriever reads {depth} views past {SEARCH_ALL_UP_TO:,}, then fuses and re-ranks; "
            "the answer uses the top few), recall of its top 10, top 100 and all of it:", "")
    sec.table(head, app_rows)
    sec.add(f"The same call on a graph built with faiss's default efConstruction (40) instead of {efc}, {n:,} vectors "
            f"(build {plain_ms / 1000:.1f} s, {build_ms / plain_ms:.1f}× faster):", "")
    sec.table(head, plain_rows)
    final = [r for r in rows if r[0] == n]
    smallest = next((r[1] for r in final if float(r[2]) >= RECALL_TARGET), None)
    app_ms = curve[f"HNSW ef={ef_app} k={depth} (app)"]
    cross = next((s for s, h in zip(marks, app_ms) if h < exact_deep[s]), None)
    big = [s for s in marks if s >= APPROXIMATE_FROM]
    if big:
        said = "; ".join(f"{s:,} vectors: recall@10 {app[s][0]:.3f}, recall@100 {app[s][1]:.3f} "
                         f"({'meets' if min(app[s][:2]) >= RECALL_TARGET else '**below**'} {RECALL_TARGET})" for s in big)
    else:
        said = f"no measured size reaches APPROXIMATE_FROM ({APPROXIMATE_FROM:,}), below which the app searches exactly"
    sec.add(f"**Chosen settings** (HNSW past {APPROXIMATE_FROM:,} vectors, M={m}, efConstruction={efc}, efSearch={ef_app}, "
            f"k={depth}): {said}. Smallest efSearch whose k=10 search reaches recall@10 ≥ {RECALL_TARGET} at {n:,} vectors: "
            f"**{smallest}**. First measured size where the app's HNSW call (k={depth}) beats exact k={depth}: "
            f"**{f'{cross:,}' if cross else 'none'}**.", "")
    if big:
        top, at = big[-1], marks.index(big[-1])
        sec.checks.append(Check(f"HNSW recall@10 and @100 (the lower) of the app's call (M={m}, efConstruction={efc}, "
                                f"efSearch={ef_app}, k={depth}) at {top:,} vectors ≥ {RECALL_TARGET}", min(app[top][:2]),
                                RECALL_TARGET, f"recall@10 {app[top][0]:.3f}, @100 {app[top][1]:.3f}; "
                                f"{app_ms[at]:.2f} ms vs exact {exact_deep[top]:.1f} ms (section 6, search only)", higher=True))
    sec.figures.append(search_plot(ctx.out_dir, marks, curve))
    sec.numbers["vectors"] = {"rows": rows, "app_rows": app_rows, "default_build_rows": plain_rows, "app_recall": app,
                              "curve": curve, "smallest_ef": smallest, "crossover": cross, "hnsw_build_ms": build_ms,
                              "default_build_ms": plain_ms, "marks": marks, "base": len(base)}
    return sec
