"""Pure parts of the benchmark: statistics, table formatting, synthetic data, rendering.

No model, no timing assertions.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from bench.report import render
from bench.scale import recall_at
from bench.stats import Check, Section, fmt, percentile, ratio, summary
from bench.synthetic import noisy_vectors, synthetic_texts, vary


def test_percentile_interpolates_like_numpy():
    values = [4.0, 1.0, 3.0, 2.0]
    # sorted 1,2,3,4: p50 sits halfway between 2 and 3
    assert percentile(values, 50) == 2.5
    assert percentile(values, 95) == pytest.approx(np.percentile(values, 95))
    assert math.isnan(percentile([], 50))


def test_summary_and_ratio():
    s = summary([10.0, 20.0, 30.0])
    assert (s["p50"], s["mean"], s["n"]) == (20.0, 20.0, 3)
    assert ratio(3.0, 2.0) == 1.5
    assert math.isnan(ratio(1.0, 0.0))


@pytest.mark.parametrize("value,expected", [(1234.5, "1,234"), (12.34, "12.3"), (1.234, "1.23"), (0.001234, "0.00123"),
                                            (5, "5"), (float("nan"), "n/a"), ("text", "text")])
def test_fmt(value, expected):
    assert fmt(value) == expected


def test_check_directions():
    assert Check("lower is better", 1.2, 1.5).ok
    assert not Check("lower is better", 1.6, 1.5).ok
    assert Check("higher is better", 2.0, 1.6, higher=True).ok
    assert not Check("nan never passes", float("nan"), 1.0).ok


def test_synthetic_texts_are_distinct_and_real_words():
    sentences = ["The injection takes about twenty minutes to complete.", "You may feel some pressure in the hip joint.",
                 "Most patients drive home the same day safely."]
    texts = synthetic_texts(sentences, ["shot", "jab"], 200, seed=1)
    assert len(texts) == len(set(texts)) == 200
    vocabulary = {w for s in sentences for w in s.split()} | {"(shot)", "(jab)"}
    assert all(set(t.split()) <= vocabulary for t in texts)


def test_vary_never_returns_empty_even_for_short_sentences():
    rng = random.Random(0)
    for _ in range(100):
        assert vary(rng, ["Rest.", "Ice it."], []).strip()


def test_synthetic_texts_raises_when_too_few_sources():
    with pytest.raises(ValueError):
        synthetic_texts(["One."], [], 50)


def test_noisy_vectors_are_unit_length_and_near_their_source():
    base = np.eye(4, 16, dtype=np.float32)
    out = noisy_vectors(base, 10, noise=0.3, chunk=3)
    assert out.shape == (10, 16)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # row i is a noisy copy of base[i % 4]: it stays closest to that row
    assert (np.argmax(out @ base.T, axis=1) == np.arange(10) % 4).all()


def test_recall_at_compares_the_top_k_as_sets():
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[3, 1, 2, 9], [5, -1, 8, 6]])  # -1: an empty FAISS slot
    # query 1: top 3 {3,1,2} = exact {1,2,3} -> 1; query 2: {5,-1,8} vs {5,6,7} -> 1/3; mean 2/3
    assert recall_at(found, truth, 3) == pytest.approx(2 / 3)
    # top 4: query 1 has 3 of {1,2,3,4}, query 2 has {5,8,6} of {5,6,7,8}: (0.75 + 0.75) / 2
    assert recall_at(found, truth, 4) == pytest.approx(0.75)
    assert recall_at(truth, truth, 2) == 1.0


def test_render_has_machine_bars_and_sections():
    sec = Section("x", "9. Example")
    sec.table(["a", "b"], [["row", 1.5]])
    sec.checks.append(Check("x ≤ 2", 1.5, 2.0, "detail"))
    text = render([sec], machine={"CPU count (os.cpu_count)": 2}, command="python -m bench", elapsed_s=60)
    assert "- CPU count (os.cpu_count): 2" in text
    assert "| x ≤ 2 | 1.50 | 2.00 | yes | detail |" in text
    assert "## 9. Example" in text and "| row | 1.50 |" in text


def test_poisson_arrivals_are_sorted_seeded_and_at_the_rate():
    from bench.loadgen import poisson_arrivals

    times = poisson_arrivals(200.0, 50.0, seed=3)
    assert times == sorted(times) and 0 < times[0] and times[-1] < 50.0
    assert times == poisson_arrivals(200.0, 50.0, seed=3) != poisson_arrivals(200.0, 50.0, seed=4)
    # 10,000 expected; a Poisson count's standard deviation is sqrt(10,000) = 100, so 3% is 3 sigma
    assert abs(len(times) - 10_000) < 300
    gaps = np.diff(times)
    # exponential gaps: mean 1/rate and standard deviation 1/rate as well
    assert gaps.mean() == pytest.approx(1 / 200, rel=0.03) and gaps.std() == pytest.approx(1 / 200, rel=0.05)
    assert poisson_arrivals(0.0, 10.0, seed=1) == [] and poisson_arrivals(5.0, 0.0, seed=1) == []


def test_bench_requests_are_distinct_and_outnumber_the_answer_cache():
    from bench.loadgen import Requests
    from qa.assistant import CACHE_SIZE

    requests = Requests()
    keys = [(p["question"], p["k"]) for p in requests.pairs]
    assert len(set(keys)) == len(keys) > CACHE_SIZE
    first = requests.take(3)
    assert requests.take(len(keys) - 3)[-1] == requests.pairs[-1]
    assert requests.take(3) == first  # after a full round the same order again, more than CACHE_SIZE later


def test_merged_runs_pool_latencies_and_add_counts():
    from bench.loadgen import merge

    # answered 2 in 1 s, then 1 (and one 503) in 3 s: 3 answers in 4 s, p50 of 10, 30, 20 is 20
    a = {"ok_ms": [10.0, 30.0], "status": {"200": 2}, "wall_s": 1.0}
    b = {"ok_ms": [20.0], "status": {"200": 1, "503": 1}, "wall_s": 3.0}
    both = merge([a, b])
    assert (both["answered"], both["failed"], both["p50"], both["throughput"]) == (3, 1, 20.0, 0.75)
    assert both["status"] == {"200": 3, "503": 1}
