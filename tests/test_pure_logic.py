"""Pure functions with hand-worked examples: text, fusion, glossary, triage, scope."""

from __future__ import annotations

import numpy as np
import pytest

from qa.fusion import RRF_K, ranks, rrf
from qa.glossary import Glossary, expansions
from qa.decisions.message import MessageParts, sentences, split_message, split_questions
from qa.decisions.not_covered import NotCoveredTerm, absent_from, find_topic
from qa.decisions.scope import decide
from qa.spelling import build_corrector
from qa.text import clean_question, fold, sentence_spans, has_term, strip_markdown, term_spans, without_terms
from qa.decisions.triage import WarningSign, triage


def test_strip_markdown_removes_markers_only():
    assert strip_markdown("- **Infection:** Though rare, a [serious](x) complication.") == (
        "Infection: Though rare, a serious complication."
    )
    assert strip_markdown("### Is it safe?\n\nYes.") == "Is it safe?\nYes."


def test_sentences_keep_abbreviations_and_quotes_together():
    text = 'Stop (e.g., blood thinners) first. A "steroid flare" can occur. Done'
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Stop (e.g., blood thinners) first.", 'A "steroid flare" can occur.', "Done"]


@pytest.mark.parametrize("raw,clean", [("  hi\x00 there\n", "hi there"), ("\ud800ok", "ok"), ("a\u200bb", "ab"),
                                       ("😀", "😀"), ("", ""), ("مرحبا", "مرحبا")])
def test_clean_question(raw, clean):
    assert clean_question(raw) == clean


def _whole_word_spans(term: str, text: str) -> list[tuple[int, int]]:
    """The definition term_spans implements, as a regex: the term, with no word character or apostrophe either side."""
    import re

    return [m.span() for m in re.finditer(rf"(?<![\w']){re.escape(term)}(?![\w'])", text)]


@pytest.mark.parametrize("term", ["a", "ab", "a b", "b'a", "fever", "can't breathe", "-a"])
def test_term_spans_are_whole_words_only(term):
    import random

    rng = random.Random(term)
    alphabet = ["a", "b", " ", "'", "-", "_", "1", "fever", "can't breathe", "é", "ß"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert list(term_spans(text, term)) == _whole_word_spans(term, text), (term, text)
    assert has_term("a high fever.", "fever") and not has_term("feverish", "fever") and not has_term("fever", "")
    assert list(term_spans("so bad so bad so bad", "so bad so bad")) == _whole_word_spans("so bad so bad", "so bad so bad so bad") == [(0, 13)]


def test_rrf_worked_example():
    # dense ranks: a=1, b=2, c=3 ; bm25: b=1, c=2, a scores 0 (no contribution)
    # a = 1/61 ; b = 1/62 + 1/61 ; c = 1/63 + 1/62
    fused = rrf([np.array([0.9, 0.5, 0.1]), np.array([0.0, 2.0, 1.0])])
    expected = [1 / (RRF_K + 1), 1 / (RRF_K + 2) + 1 / (RRF_K + 1), 1 / (RRF_K + 3) + 1 / (RRF_K + 2)]
    assert np.allclose(fused, expected)
    assert list(np.argsort(-fused)) == [1, 2, 0]


def test_ranks_give_ties_the_same_rank():
    assert list(ranks(np.array([0.1, 0.5, 0.5, 0.2]))) == [4, 1, 1, 3]


def test_glossary_matches_whole_words_only():
    g = Glossary((("shot", "injection"), ("gel shot", "hyaluronic acid")))
    assert expansions("Will the gel shot hurt?", g) == ["injection", "hyaluronic acid"]
    assert expansions("a shotgun", g) == []


def test_spelling_corrects_unknown_words_only():
    c = build_corrector({"injection", "anesthetic"}, {"cortisone"}, {"will", "the", "hurt", "shot"})
    assert c.correct("will the injecton hurt") == "will the injection hurt"
    assert c.correct("cortisoen shot") == "cortisone shot"
    assert c.correct("zzzzzz") == "zzzzzz"


SIGNS = (WarningSign("fever", "warning", ""), WarningSign("swollen", "personal", ""), WarningSign("red", "personal", ""),
         WarningSign("hot", "personal", ""), WarningSign("trouble breathing", "emergency", ""),
         WarningSign("worse", "personal", ""), WarningSign("numb", "personal", ""), WarningSign("infection", "personal", ""),
         WarningSign("face swelled", "emergency", ""))


@pytest.mark.parametrize("message,urgent,emergency", [
    ("I have a fever since my injection", True, False),
    ("I don't have a fever", False, False),
    ("what are the signs of infection like fever?", False, False),
    ("my hip is swollen", True, False),
    ("is it normal for it to be swollen?", False, False),
    ("the spot is hot, red and swollen", True, False),
    ("I have trouble breathing", True, True),
    ("will the shot hurt?", False, False),
    # history is background, not a warning sign now
    ("I had a fever last month but it's gone now. My injection is on Monday, what should I bring?", False, False),
    ("years ago my knee swelled up and went red after a fall. what steroid do they use?", False, False),
    ("I was in hospital in 2022 and had trouble breathing for a while. how long does the steroid last?", False, False),
    ("my face swelled up once years ago from ibuprofen so I can't take it now. what painkillers can I take?", False, False),
    ("the pain got worse over the winter so my GP referred me. what happens first?", False, False),
    # ...but days and weeks are the window after an injection, and "now" makes it current
    ("my injection was 3 days ago and I have a fever", True, False),
    ("years ago I had a bad hip, now it is swollen and hot since the injection", True, False),
    # comparisons, what the doctor does, and trying to avoid something are not symptoms
    ("my knee is worse than my hip, can they do both?", False, False),
    ("since the injection my hip is worse than before", True, False),  # "than before" is getting worse
    ("im scared of needles, do they numb it first?", False, False),
    ("will they numb the hip first before the big needle", False, False),
    ("can I put a hot water bottle on it when I get home", False, False),
    ("I feel numb, it is spreading down my leg", True, False),  # a comma ends the verb reading
    ("my hip is hot and I feel numb the whole time", True, False),
    ("how do they keep it clean so I don't pick up an infection?", False, False),
    ("why does it sometimes get worse before it gets better? mine was fine last time", False, False),
    ("I had an infection after surgery years ago. How do you stop infection with a hip injection?", False, False),
    ("how can they reduce the risk of infection for me", False, False),
    ("I can't stop it, my hip is swollen and hot", True, False),
    # a fever given as a number, in Celsius or Fahrenheit, with or without a unit
    ("38.2 and rising, hip jab thurs", True, False),
    ("temp 101 since the shot", True, False),
    ("she is 39 degrees and shivery", True, False),
    ("thermometer says 100.8F", True, False),
    ("its 38,5 now", True, False),
    # ...not an age, a dose, a weight, a time, a room, a normal reading, or long ago
    ("I am 38 years old, will it hurt", False, False),
    ("my dad is 101 and had the jab", False, False),
    ("can I take 40 mg of it", False, False),
    ("had it 38 mins ago", False, False),
    ("room 101 for the injection?", False, False),
    ("i weigh 38.5 kg, is the dose different", False, False),
    ("temperature is 37.2, fine?", False, False),
    ("no temp, 36.8, all good", False, False),
    ("I had a temperature of 39 years ago after surgery", False, False),
    # a face, lip, tongue or throat swelling in any words is an emergency...
    ("tongue swelling after dye injection today", True, True),
    ("her lips have puffed right up", True, True),
    ("my mum's tongue has gone all swollen", True, True),
    ("face all swollen since the jab", True, True),
    # ...not asked as a possibility, denied, long past, or another place
    ("can your throat swell after it?", False, False),
    ("will my face swell from the steroid?", False, False),
    ("what if my throat swells up", False, False),
    ("no swelling of the lips or tongue", False, False),
    ("my face swelled up once years ago from ibuprofen, what can I take?", False, False),
    ("swollen hip and face fine", False, False),  # the swelling is the hip's
    ("hoarse from shouting, tongue and throat not swollen", False, False),  # denied between its words
    ("my lips aren't swollen, just a cold sore", False, False),
    ("her lips are not puffy but her face has puffed up now", True, True),  # one denied, one not
])
def test_triage(message, urgent, emergency):
    result = triage(message, SIGNS)
    assert (result.urgent, result.emergency) == (urgent, emergency)


@pytest.mark.parametrize("message,denied,urgent", [
    ("no fever or anything, all fine, just wondering when I can cycle", ("fever",), False),
    ("not swollen or red at all, when is my follow up?", ("swollen", "red"), False),
    ("no fever but my hip is swollen since the injection", ("fever",), True),
    ("I don't have a fever, oh wait, now I do have a fever", (), True),  # said once as present: not denied
    ("what are the signs of infection like fever?", (), False),  # asked about, not denied
])
def test_triage_names_the_signs_a_message_denies(message, denied, urgent):
    result = triage(message, SIGNS)
    assert (result.denied, result.urgent) == (denied, urgent)


@pytest.mark.parametrize("message,clauses,read_alone", [
    # a sign told now beside an everyday question: its own clause is read alone too
    ("I have a fever, can I go to work tomorrow?", ("i have a fever",), ("i have a fever",)),
    ("temp is 38.5 since last night. Can I still swim on friday?", ("temp is 38.5 since last night",),
     ("temp is 38.5 since last night",)),  # a fever as a number, a sentence of its own
    # the clause is the whole message: nothing to read apart
    ("what if I get a fever after the injection?", ("what if i get a fever after the injection",), ()),
    # a personal sign word's clause is not read alone (policy.READ_ALONE_LEVELS)
    ("my hip is swollen, can I drive?", ("my hip is swollen",), ()),
    # nothing urgent, nothing told
    ("no fever, can I drive?", (), ()),
])
def test_triage_keeps_the_clauses_signs_were_told_in(message, clauses, read_alone):
    from qa.decisions.policy import sign_clauses

    flags = triage(message, SIGNS)
    assert flags.clauses == clauses
    assert sign_clauses(flags, message) == read_alone


def test_without_terms_removes_whole_words_in_any_case():
    assert without_terms("No FEVER, no Fever-ish feverish fever.", ["fever"]) == "No , no -ish feverish ."
    assert without_terms("can't breathe? Can't Breathe", ["can't breathe"]) == "?"
    assert without_terms("all fine", []) == "all fine"


@pytest.mark.parametrize("kwargs,abstain,reason", [
    (dict(best_cosine=0.7, unknown_words=(), question_words=["hip"], has_content=True), False, ""),
    (dict(best_cosine=0.2, unknown_words=(), question_words=["hello"], has_content=True), True, "low_similarity"),
    (dict(best_cosine=0.5, unknown_words=("insurance", "cover"), question_words=["insurance"], has_content=True),
     True, "unknown_words"),
    (dict(best_cosine=0.7, unknown_words=(), question_words=["knee", "shot"], has_content=True), True, "other_body_part"),
    (dict(best_cosine=0.7, unknown_words=(), question_words=["knee", "and", "hip"], has_content=True), False, ""),
    (dict(best_cosine=0.2, unknown_words=(), question_words=["prolotherapy"], has_content=True,
          rare_term_match=True), False, ""),
    (dict(best_cosine=0.9, unknown_words=(), question_words=[], has_content=False), True, "no_content"),
])
def test_scope_decision(kwargs, abstain, reason):
    decision = decide(**kwargs)
    assert (decision.abstain, decision.reason) == (abstain, reason)


def test_fold_is_case_and_space_insensitive():
    assert fold("  Hip\tINJECTION \n") == "hip injection"


def test_top_k_is_best_first_and_breaks_ties_by_document_order():
    from qa.retriever import top_k

    scores = np.array([0.2, 0.9, 0.5, 0.9, 0.1, 0.5])
    # 0.9 at 1 and 3 (tie: document order), then 0.5 at 2 and 5
    assert list(top_k(scores, 3)) == [1, 3, 2]
    assert list(top_k(scores, 10)) == [1, 3, 2, 5, 0, 4]
    assert list(top_k(np.zeros(4), 2)) == [0, 1]


def test_best_per_passage_takes_each_passages_best_view():
    from qa.dense import best_per_passage, cosine_per_view

    # views 0,1 belong to passage 0; view 2 to passage 1; passage 2 has no view retrieved
    owner = np.array([0, 0, 1])
    scores, ids = np.array([0.9, 0.7, 0.4, 0.0]), np.array([1, 2, 0, -1])
    assert list(best_per_passage(scores, ids, owner, 3)) == pytest.approx([0.9, 0.7, -1.0])
    # Only the views the mask allows count: without view 1, passage 0's best is view 0's.
    allowed = np.array([True, False, True])
    assert list(best_per_passage(scores, ids, owner, 3, views=allowed)) == pytest.approx([0.4, 0.7, -1.0])
    assert list(cosine_per_view(scores, ids, 4)) == pytest.approx([0.4, 0.9, 0.7, -1.0])


@pytest.mark.parametrize("seed", range(5))
def test_passage_groups_give_the_best_per_passage_of_a_whole_index_search(seed):
    from qa.dense import PassageGroups, best_per_passage

    rng = np.random.default_rng(seed)
    n_passages, n_views = 7, 40
    owner = rng.integers(0, n_passages - 1, n_views)  # the last passage has no view at all
    scores = rng.uniform(-1, 1, n_views).astype(np.float32)
    whole = np.arange(n_views)
    for mask in (None, rng.random(n_views) < 0.5, np.zeros(n_views, dtype=bool)):
        expected = best_per_passage(scores, whole, owner, n_passages, views=mask)
        assert np.array_equal(PassageGroups.of(owner, n_passages, views=mask).best(scores), expected)
        assert expected[-1] == -1.0


def test_micro_batcher_answers_each_caller_with_its_own_vectors():
    import threading

    from qa.encoder.batching import MicroBatcher

    calls = []
    gate = threading.Event()

    def encode(texts):
        calls.append(list(texts))
        gate.wait(5)  # hold the first batch so later callers queue up together
        return np.array([[float(len(t))] for t in texts])

    batcher = MicroBatcher(encode, workers=1, max_batch=8)
    results = {}

    def ask(text):
        results[text] = batcher.encode([text, text + "!"])

    threads = [threading.Thread(target=ask, args=("a" * n,)) for n in range(1, 6)]
    threads[0].start()
    while not calls:
        pass
    for t in threads[1:]:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    # every caller got the vectors of its own two texts
    assert all(list(v[:, 0]) == [len(k), len(k) + 1] for k, v in results.items()) and len(results) == 5
    # the first caller ran alone; the four that queued behind it shared batches of at most 8 texts
    assert calls[0] == ["a", "a!"] and len(calls) < 5 and all(len(c) <= 8 for c in calls)


def test_micro_batcher_spreads_a_lone_callers_texts_over_idle_slots():
    import threading

    from qa.encoder.batching import MicroBatcher

    both_running = threading.Barrier(2, timeout=30)  # breaks (and raises) unless two encodes run at once
    calls = []

    def encode(texts):
        calls.append(list(texts))
        both_running.wait()
        return np.array([[float(len(t))] for t in texts])

    vectors = MicroBatcher(encode, workers=2).encode(["a", "bbb"])
    assert list(vectors[:, 0]) == [1.0, 3.0]  # in the caller's order
    assert sorted(calls) == [["a"], ["bbb"]]


def test_micro_batcher_answers_a_lone_caller_with_many_texts():
    """The spread's second half used to spread again onto the one helper thread it was running
    on, and waited for itself forever: any encode_queries call of three or more texts hung."""
    import threading

    from qa.encoder.batching import MicroBatcher

    result = {}
    batcher = MicroBatcher(lambda texts: np.array([[float(len(t))] for t in texts]), workers=2)
    worker = threading.Thread(target=lambda: result.setdefault("v", batcher.encode(["a", "bb", "ccc", "dddd", "e"])),
                              daemon=True)
    worker.start()
    worker.join(30)  # a deadlock leaves the thread running, and the test fails below instead of hanging
    assert "v" in result, "encode of five texts never returned"
    assert list(result["v"][:, 0]) == [1.0, 2.0, 3.0, 4.0, 1.0]


def test_micro_batcher_keeps_a_callers_texts_together_when_a_slot_is_busy():
    import threading

    from qa.encoder.batching import MicroBatcher

    calls, gate = [], threading.Event()

    def encode(texts):
        calls.append(list(texts))
        if texts == ["first"]:
            gate.wait(5)  # keeps one of the two slots busy
        return np.array([[float(len(t))] for t in texts])

    batcher = MicroBatcher(encode, workers=2)
    first = threading.Thread(target=batcher.encode, args=(["first"],))
    first.start()
    while not calls:
        pass
    assert list(batcher.encode(["a", "bbb"])[:, 0]) == [1.0, 3.0]
    gate.set()
    first.join(5)
    assert calls == [["first"], ["a", "bbb"]]


def test_micro_batcher_leaves_what_is_over_its_batch_to_the_other_slot():
    """Four two-text callers queue while both slots are busy; max_batch=4, so each freed slot
    takes two callers (4 texts) and the two batches run at once on the two slots, instead of
    one slot running all 8 texts while the other waits for work."""
    import threading

    from qa.encoder.batching import MicroBatcher

    calls, hold, lock = [], threading.Event(), threading.Lock()
    both_batches = threading.Barrier(2, timeout=5)  # raises unless the two batches of queued callers overlap

    def encode(texts):
        with lock:
            calls.append(list(texts))
        if texts[0].startswith("busy"):
            hold.wait(5)
        else:
            both_batches.wait()
        return np.array([[float(len(t))] for t in texts])

    batcher = MicroBatcher(encode, workers=2, max_batch=4)
    busy = [threading.Thread(target=batcher.encode, args=([f"busy{i}"],)) for i in range(2)]
    for t in busy:
        t.start()
    while len(calls) < 2:  # both slots taken
        pass
    results = {}
    queued = [threading.Thread(target=lambda w=w: results.setdefault(w, batcher.encode([w, w + "!"]))) for w in "abcd"]
    for t in queued:
        t.start()
    while len(batcher._queue) < 4:  # all four wait for a slot
        pass
    hold.set()
    for t in busy + queued:
        t.join(10)
    assert sorted(len(c) for c in calls[2:]) == [4, 4]
    assert all(list(v[:, 0]) == [1.0, 2.0] for v in results.values()) and len(results) == 4


def test_micro_batcher_answers_many_callers_at_once():
    """Only the caller that is to run the next batch is woken; a wake-up lost on the way would
    leave a caller waiting for good. 24 callers of 1 or 2 texts, 5 questions each, on 2 slots."""
    import random
    import threading
    import time

    from qa.encoder.batching import MicroBatcher

    def encode(texts):
        time.sleep(0.0005 * len(texts))  # lets callers pile up behind busy slots
        return np.array([[float(len(t))] for t in texts])

    batcher = MicroBatcher(encode, workers=2, max_batch=4)
    wrong, finished = [], []

    def caller(seed):
        rng = random.Random(seed)
        for _ in range(5):
            texts = ["x" * rng.randint(1, 9) for _ in range(rng.choice((1, 2)))]
            if list(batcher.encode(texts)[:, 0]) != [float(len(t)) for t in texts]:
                wrong.append(texts)
        finished.append(seed)

    threads = [threading.Thread(target=caller, args=(seed,), daemon=True) for seed in range(24)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))  # a lost wake-up leaves a thread waiting: the count fails
    assert sorted(finished) == list(range(24)) and not wrong


def test_a_query_batch_is_one_onnx_run():
    from qa.encoder.embedder import MAX_QUERY_BATCH
    from qa.encoder.onnx_encoder import BATCH_SIZE

    assert MAX_QUERY_BATCH == BATCH_SIZE


def test_plan_runs_groups_texts_of_similar_length():
    from qa.encoder.onnx_encoder import plan_runs

    # Longest first; 30 and 25 are within 11 tokens, 12 is 18 shorter than 30 so it starts a run,
    # and 10, 9, 8 join it until the run holds max_rows texts; 7 starts the last run.
    assert plan_runs([12, 30, 10, 25, 9, 8, 7], max_rows=4, slack=11) == [[1, 3], [0, 2, 4, 5], [6]]
    assert plan_runs([5, 5, 5, 5, 5], max_rows=4, slack=0) == [[0, 1, 2, 3], [4]]  # equal lengths: ties keep order
    assert plan_runs([], max_rows=4) == []
    assert plan_runs([40, 3], max_rows=4, slack=11) == [[0], [1]]  # a short question is not padded to a long one


@pytest.mark.parametrize("lengths", [[1], [3, 3], [200, 1, 50, 49, 48, 47, 46, 2], list(range(1, 40))])
def test_plan_runs_covers_every_text_once_within_the_limits(lengths):
    from qa.encoder.onnx_encoder import plan_runs

    runs = plan_runs(lengths, max_rows=4, slack=11)
    assert sorted(i for run in runs for i in run) == list(range(len(lengths)))
    assert all(1 <= len(run) <= 4 and lengths[run[0]] - min(lengths[i] for i in run) <= 11 for run in runs)


def test_micro_batcher_hands_errors_to_the_callers():
    from qa.encoder.batching import MicroBatcher

    def broken(texts):
        raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError, match="exploded"):
        MicroBatcher(broken).encode(["x"])
    with pytest.raises(RuntimeError, match="exploded"):  # spread over two slots, too
        MicroBatcher(broken, workers=2).encode(["x", "y"])


def test_spelling_leaves_other_forms_of_corpus_words_alone():
    c = build_corrector({"injected", "injection", "anesthetic"}, set(), set())
    assert c.correct("why inject dye") == "why inject dye"
    assert c.correct("injecton anesthetik") == "injection anesthetic"


def test_bm25_tokens_drop_question_grammar_but_keep_meaningful_words():
    from qa.lexical import lexical_tokens

    assert lexical_tokens("What can you do for my hip?") == ["hip"]
    assert lexical_tokens("Who does it, and when, after the shot?") == ["who", "when", "after", "shot"]


def test_word_pairs_are_adjacent_content_stems():
    from qa.lexical import word_pairs

    assert word_pairs("Sports medicine physicians") == {("sport", "medicin"), ("medicin", "physician")}
    assert word_pairs("the shot") == set()


def test_glossary_matches_whole_words_singular_or_plural():
    from qa.glossary import Glossary, matches

    glossary = Glossary((("gel shot", "hyaluronic acid"), ("painful", "pain"), ("band-aid", "bandage")))
    found = [lay for lay, _ in matches("How long do gel shots last? Need a band-aid?", glossary)]
    assert found == ["gel shot", "band-aid"]
    assert matches("my hip pain", glossary) == []  # a stem match would wrongly fire "painful"
    vetoed = matches("gel shots", glossary, document_phrase=lambda lay, q: lay == "gel shot")
    assert vetoed == []


def test_glossary_gap_matches_parts_in_order_within_max_gap():
    from qa.glossary import MAX_GAP, Glossary, matches

    glossary = Glossary((("how long ... last", "lasting weeks months"), ("keep ... home ... safe", "x")))
    assert matches("how long does a cortisone shot in the hip last?", glossary)
    assert matches("cortisone, how long last", glossary)
    assert not matches("does it last? how long", glossary)  # order counts
    assert not matches("how long " + "word " * (MAX_GAP + 1) + "last", glossary)
    assert matches("how long " + "word " * MAX_GAP + "last", glossary)
    assert not matches("how longer does it last", glossary)  # parts are whole words
    # three parts: each within the gap of the one before, trying every place the first ends
    assert [lay for lay, _ in matches("keep me at home keep me home and safe", glossary)] == ["keep ... home ... safe"]


def test_correctors_are_cache_keys_by_identity_not_by_value():
    """Equal vocabularies (an index and its rebuild) must not make every cached
    correction compare two 20,000-word sets; each corrector is its own key."""
    words = {"injection", "anesthetic"}
    first, second = build_corrector(words, set(), {"hurt"}), build_corrector(words, set(), {"hurt"})
    assert first != second and first == first
    assert first.correct("injecton") == second.correct("injecton") == "injection"


@pytest.mark.parametrize("message,ask,background", [
    ("will the shot hurt?", "will the shot hurt?", ""),
    ("I'm 71 and live in Leeds. My GP sent me. Why is an injection better than tablets? thanks",
     "Why is an injection better than tablets?", "I'm 71 and live in Leeds. My GP sent me. thanks"),
    ("my dad is 80 and forgetful. will someone go through the risks with him", "will someone go through the risks with him",
     "my dad is 80 and forgetful."),
    ("i work in a warehouse, GP isnt sure, which conditions can be helped by an injection, just wondering",
     "which conditions can be helped by an injection, just wondering", "i work in a warehouse, GP isnt sure"),
    ("I had one in 2019. It helped a lot. I want another one", "I want another one", "I had one in 2019. It helped a lot."),
    ("can you send me a list of exercises, like leg raises, how many of each",  # the first clause already asks
     "can you send me a list of exercises, like leg raises, how many of each", ""),
    ("", "", ""),
])
def test_split_message_finds_the_question_in_a_story(message, ask, background):
    assert split_message(message) == MessageParts(ask, background)


def test_scope_counts_only_the_words_it_is_given():
    """The assistant passes the unknown words of the asking part; a long story around an
    answerable question then adds nothing (see test_assistant for the whole path)."""
    story = ("leeds", "daughter", "naproxen", "omeprazole")
    assert decide(best_cosine=0.52, unknown_words=story, question_words=["hip"], has_content=True).abstain
    assert not decide(best_cosine=0.52, unknown_words=(), question_words=["hip"], has_content=True).abstain


TOPICS = (NotCoveredTerm("pregnant", "pregnancy", "anywhere"), NotCoveredTerm("dog", "animals", "question"))


@pytest.mark.parametrize("message,topic", [
    ("I'm 22 weeks pregnant. Is it safe for me to have it?", "pregnancy"),
    ("Can my dog have the same injection?", "animals"),
    ("I walk my dog every day. When can I walk normally again?", ""),  # only where the patient asks
    ("Is it safe for me to have it?", ""),
    ("the hotdog stand", ""),  # whole words only
])
def test_not_covered_topics(message, topic):
    assert find_topic(message, split_message(message).ask, TOPICS) == topic


def test_another_body_part_asked_about_is_out_of_scope_even_with_the_hip_in_the_story():
    message = "do you also do injections for knees at the clinic? my right knee is nearly as bad as my hip"
    ask = split_message(message).ask
    words = message.replace("?", "").split()
    assert decide(best_cosine=0.7, unknown_words=(), question_words=words, asked_words=ask.rstrip("?").split(),
                  has_content=True).reason == "other_body_part"
    both = "can the hip injection help my knee too".split()
    assert not decide(best_cosine=0.7, unknown_words=(), question_words=both, asked_words=both, has_content=True).abstain
    idiom = "what should i keep an eye out for after the injection".split()
    assert not decide(best_cosine=0.7, unknown_words=(), question_words=idiom, has_content=True).abstain


@pytest.mark.parametrize("ask,out", [
    ("can i get my knee injected at the same visit as my hip", True),
    ("can i get a steroid injection in my shoulder at the same appointment as the hip", True),
    ("do you do shoulder injections too or just hips", True),
    ("can the hip injection help my knee too", False),  # asks about the hip injection
    ("is the hip done the same way as the knee", False),
    ("my back hurts too, will the hip injection help", False),  # "back" alone is an idiom, not a part
    ("could they inject some into my left knee while im there", True),
    ("will the hip injection help the pain in my lower back", False),  # where it hurts, not where it goes
])
def test_an_injection_asked_for_in_another_part_is_out_of_scope_beside_the_hip(ask, out):
    words = ask.split()
    decision = decide(best_cosine=0.7, unknown_words=(), question_words=words, asked_words=words, has_content=True)
    assert decision.abstain is out and decision.reason == ("other_body_part" if out else "")


def test_a_not_covered_term_the_document_uses_is_ignored():
    document = "Parking: patients can park for free behind the clinic. Dogs are not allowed."
    kept = absent_from(TOPICS + (NotCoveredTerm("parking", "parking", "question"),), document)
    assert [t.term for t in kept] == ["pregnant", "dog"]  # whole words: "dogs" is not "dog"; "parking" is used


@pytest.mark.parametrize("message,questions", [
    ("will the shot hurt?", ("will the shot hurt?",)),
    ("what is it? is it safe?", ("what is it?", "is it safe?")),
    ("does it hurt much after and what can i take for it", ("does it hurt much after", "what can i take for it")),
    ("Two things - is it a steroid, and will I need someone to take me home?",
     ("is it a steroid", "will I need someone to take me home?")),
    ("I have pain. Can I drive home and can I go to work the next day?", ("Can I drive home", "can I go to work the next day?")),
    # one question: a shared verb, a short tail, a follow-up fragment, background around it
    ("can I drive and go to work after", ("can I drive and go to work after",)),
    ("how long does it last and why?", ("how long does it last and why?",)),
    ("how will I be lying during it? on my front?", ("how will I be lying during it? on my front?",)),
    ("My mum is 80 and has arthritis. She is anxious. What will happen on the day?",
     ("My mum is 80 and has arthritis. She is anxious. What will happen on the day?",)),
    ("What is it? I am scared.", ("What is it? I am scared.",)),
])
def test_split_questions(message, questions):
    assert split_questions(message) == questions


@pytest.mark.parametrize("message,expected", [
    ("will the shot hurt?", ()),  # one sentence: the message's own vector stands for it
    ("Hi. Will the shot hurt?", ()),  # a one-word greeting is not a sentence of its own
    ("Ran 5k on Sunday. Now the spot is hot and swollen! Should I worry?",
     ("Ran 5k on Sunday.", "Now the spot is hot and swollen!", "Should I worry?")),
    ("had it tuesday\nleg wont hold me up today", ("had it tuesday", "leg wont hold me up today")),
])
def test_sentences_are_the_messages_sentences_of_two_words_or_more(message, expected):
    assert sentences(message) == expected


def test_triage_either_is_urgent_when_one_reading_is_and_keeps_every_sign_once():
    from qa.decisions.triage import Triage

    typed = Triage(urgent=False, emergency=False, signs=(), denied=("fever",))
    corrected = Triage(urgent=True, emergency=False, signs=("pus", "fever"), denied=("fever",))
    both = typed.either(corrected)
    assert both.urgent and not both.emergency
    assert both.signs == ("pus", "fever") and both.denied == ("fever",)
    assert not typed.either(typed).urgent
    from dataclasses import replace

    told = Triage(urgent=True, emergency=False, clauses=("i have a feaver",))
    assert told.either(replace(told, clauses=("i have a fever",))).clauses == ("i have a feaver", "i have a fever")
    assert Triage(urgent=True, emergency=True).either(typed).emergency


def test_term_spans_takes_a_plural_only_when_asked_and_only_one_s():
    from qa.text import term_spans, without_terms

    text = "chest pains, chest pain and chest painss"
    assert list(term_spans(text, "chest pain")) == [(13, 23)]
    assert list(term_spans(text, "chest pain", plural=True)) == [(0, 11), (13, 23)]
    assert without_terms("No chest pains at all", ["chest pain"]) == "No at all"
