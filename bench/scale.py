"""Section 6: synthetic corpora of growing size, and exact vs HNSW search.

Corpora (1k/10k/100k passages by default) are varied corpus sentences,
really encoded, one view per passage; each gets a real FAISS index, BM25
index and ``Retriever`` inside an ``Assistant``, and the eval questions go
through ``ask()`` at every size, interleaved with the real corpus. Then
search alone on up to 1M vectors (noisy copies of real embeddings): exact
``IndexFlatIP`` vs ``IndexHNSWFlat`` at several efSearch, recall@10 against
exact. This module measures; ``synthetic`` makes the data.
"""

from __future__ import annotations

import shutil
import time

import numpy as np

from bench import plots
from bench.context import Context, clear_cache
from bench.inprocess import breakdown, warm_up
from bench.stats import Check, Section, ratio, summary, timed
from bench.synthetic import noisy_vectors, synthetic_passages, synthetic_texts

EF_SEARCH = (16, 32, 64, 128, 256)
RECALL_TARGET = 0.99
DEPTH = 512  # the retriever's FAISS depth past 4096 views


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


def corpora(ctx: Context, sec: Section) -> None:
    from qa.dense import passage_views

    a = ctx.assistant
    warm_up(a)
    sizes = sorted(ctx.scale_sizes)
    sentences, terms, headings = _corpus_parts(a)
    passages = synthetic_passages(synthetic_texts(sentences, terms, sizes[-1]), headings)
    texts = [v.text for v in passage_views(passages, sentences=False)]
    limit = min(ctx.encode_limit or sizes[-1], sizes[-1])
    chunks, encode_ms, done = [], {}, 0
    start = time.perf_counter()
    for size in sizes:
        if done < limit:
            chunks.append(a.embedder.encode(texts[done:min(size, limit)], batch_size=64))
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
            "sentences). Encoding is real (`Embedder.encode`, batch 64); build time = encode + FAISS + BM25 + retriever set-up.", "")
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
    ctx._scale_base = vectors  # reused as the seed of the search-only test
    for size in sizes:
        shutil.rmtree(ctx.work_dir / f"scale-{size}", ignore_errors=True)


def _search_ms(index, queries: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    times, ids = [], []
    for q in queries:
        ms, (_, found) = timed(index.search, q.reshape(1, -1), k)
        times.append(ms)
        ids.append(found[0])
    return summary(times)["p50"], np.array(ids)


def vectors(ctx: Context, sec: Section) -> None:
    import faiss

    a = ctx.assistant
    base = getattr(ctx, "_scale_base", None)
    if base is None:
        base = a.embedder.encode([v.text for v in a.index.views])
    queries = a.embedder.encode(ctx.questions[:50])
    n = ctx.vectors
    data = noisy_vectors(base, n)
    marks = [m for m in (10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000) if m < n] + [n]
    flat = faiss.IndexFlatIP(data.shape[1])
    hnsw = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    rows, curve, hnsw_build_ms, done = [], {"exact k=512": [], "exact k=10": []}, 0.0, 0
    chosen_ef = None
    for mark in marks:
        flat.add(data[done:mark])
        hnsw_build_ms += timed(hnsw.add, data[done:mark])[0]
        done = mark
        exact10, truth = _search_ms(flat, queries, 10)
        exact512, _ = _search_ms(flat, queries, DEPTH)
        curve["exact k=10"].append(exact10)
        curve["exact k=512"].append(exact512)
        for ef in EF_SEARCH:
            hnsw.hnsw.efSearch = ef
            ms, found = _search_ms(hnsw, queries, 10)
            recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
            curve.setdefault(f"HNSW ef={ef} k=10", []).append(ms)
            rows.append([mark, ef, recall, ms, exact10, ratio(ms, exact10)])
        hnsw.hnsw.efSearch = DEPTH
        ms512, _ = _search_ms(hnsw, queries, DEPTH)
        curve.setdefault("HNSW k=512", []).append(ms512)
    final = [r for r in rows if r[0] == marks[-1]]
    chosen_ef = next((r[1] for r in final if r[2] >= RECALL_TARGET), None)
    sec.add(f"### Search only: exact vs HNSW (M=32), up to {n:,} vectors", "",
            f"Vectors: the synthetic embeddings above plus Gaussian noise (cosine ≈ 0.86 to their source), normalised; "
            f"queries: {len(queries)} real eval-question embeddings; one query per call, as a request does. "
            f"Recall@10 = share of the exact top 10 that HNSW returns. HNSW build (adds) for {n:,} vectors: "
            f"{hnsw_build_ms / 1000:.1f} s, {n / hnsw_build_ms * 1000:,.0f} vectors/s.", "")
    sec.table(["vectors", "efSearch", "recall@10", "HNSW p50 ms (k=10)", "exact p50 ms (k=10)", "HNSW / exact"], rows)
    sec.table(["vectors", "exact p50 ms k=512", "HNSW p50 ms k=512 (efSearch=512)", "HNSW / exact"],
              [[m, e, h, ratio(h, e)] for m, e, h in zip(marks, curve["exact k=512"], curve["HNSW k=512"])])
    cross = next((m for m, e, h in zip(marks, curve["exact k=10"], curve[f"HNSW ef={chosen_ef or EF_SEARCH[-1]} k=10"]) if h < e), None)
    sec.add(f"Smallest efSearch with recall@10 ≥ {RECALL_TARGET} at {marks[-1]:,} vectors: **{chosen_ef}**. "
            f"First measured size where HNSW at that efSearch (k=10) beats exact: **{cross if cross else 'none'}**.", "")
    sec.figures.append(plots.lines("scale_search.png", ctx.out_dir, marks, curve, xlabel="vectors", ylabel="p50 ms per query",
                                   title="FAISS search: exact vs HNSW", logx=True, logy=True))
    sec.numbers["vectors"] = {"rows": rows, "curve": curve, "chosen_ef": chosen_ef, "crossover": cross,
                              "hnsw_build_ms": hnsw_build_ms, "marks": marks}


def scale(ctx: Context) -> Section:
    sec = Section("scale", "6. Scale")
    corpora(ctx, sec)
    vectors(ctx, sec)
    return sec
