"""The learned re-ranking: the neighbours' vote, the features, the model's order, its training
without a message's own set, the artifact, and its effect over the real labelled sets.

Pure parts use tiny hand-made numbers; the rest the real model and the real index
built from the labelled sets in eval/sets/ (the session's build: no extra encode).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from qa.decisions.learned import LinearModel
from qa.ranking import (RANKING_FEATURES, VOTE_NEIGHBOURS, VOTE_TEMPERATURE, WORD_VOTE_TEMPERATURE,
                        candidate_features, neighbour_vote, rerank, word_vote)


# ------------------------------------------------------------- the vote


def test_the_vote_is_a_softmax_of_the_nearest_alternates_cosines_per_passage():
    owner = np.array([0, 0, 1, 2, 2])  # views 0 and 1 are passage 0's own; 2, 3, 4 alternates
    cosines = np.array([0.9, 0.8, 0.70, 0.65, 0.60], dtype=np.float32)
    vote = neighbour_vote(cosines, owner, np.array([2, 3, 4]), 3)
    weights = np.exp(np.array([0.70, 0.65, 0.60]) / VOTE_TEMPERATURE)
    assert vote == pytest.approx([0.0, weights[0] / weights.sum(), (weights[1] + weights[2]) / weights.sum()])
    assert vote.sum() == pytest.approx(1.0)
    # The document's own views never vote, however near: only the ids handed in do.
    assert vote[0] == 0.0


def test_only_the_nearest_alternates_vote_and_unretrieved_views_never_do():
    n = VOTE_NEIGHBOURS + 5
    owner = np.array([0] * VOTE_NEIGHBOURS + [1] * 5)
    cosines = np.array([0.8] * VOTE_NEIGHBOURS + [0.5] * 5, dtype=np.float32)
    assert neighbour_vote(cosines, owner, np.arange(n), 2) == pytest.approx([1.0, 0.0])
    cosines[:] = -1.0  # a large index's search did not reach them
    assert not neighbour_vote(cosines, owner, np.arange(n), 2).any()
    assert not neighbour_vote(cosines, owner, np.array([], dtype=np.int64), 2).any()


def test_the_word_vote_is_a_softmax_of_bm25_shares_and_silent_when_no_word_is_shared():
    passages = np.array([0, 1, 1, 2])
    bm25 = np.array([2.0, 4.0, 0.0, 3.0])
    shares = np.exp(np.array([0.5, 1.0, 0.75]) / WORD_VOTE_TEMPERATURE)
    assert word_vote(bm25, passages, 3) == pytest.approx(np.array([shares[0], shares[1], shares[2]]) / shares.sum())
    assert not word_vote(np.zeros(4), passages, 3).any()
    assert not word_vote(np.zeros(0), np.zeros(0, np.int64), 3).any()


def test_candidate_features_are_the_named_columns_in_order():
    fused = np.array([0.5, 0.9, 0.7])
    document = np.array([0.4, 0.8, 0.6])
    lexical = np.array([0.0, 1.0, 0.5])
    vote = np.array([0.2, 0.3, 0.5])
    words = np.array([0.0, 0.1, 0.9])
    rows = candidate_features(np.array([1, 2, 0]), fused=fused, document=document, lexical_share=lexical,
                              meaning_vote=vote, words_vote=words)
    assert rows.shape == (3, len(RANKING_FEATURES))
    assert rows[:, RANKING_FEATURES.index("vote")] == pytest.approx([0.3, 0.5, 0.2])
    assert rows[:, RANKING_FEATURES.index("word_vote")] == pytest.approx([0.1, 0.9, 0.0])
    assert rows[:, RANKING_FEATURES.index("gap")] == pytest.approx([0.0, -0.2, -0.4])
    assert rows[:, RANKING_FEATURES.index("document")] == pytest.approx([0.8, 0.6, 0.4])


def test_rerank_orders_by_the_models_score_and_keeps_the_fused_order_on_ties():
    candidates = np.array([7, 3, 5])
    features = np.array([[0.9, 0.1], [0.5, 0.8], [0.4, 0.8]])
    by_second = LinearModel(np.array([0.0, 1.0]), 0.0, 0.5, ("a", "b"))
    order, probabilities = rerank(candidates, features, by_second)
    assert order.tolist() == [3, 5, 7]
    assert probabilities == pytest.approx(1 / (1 + np.exp(-np.array([0.8, 0.8, 0.1]))))
    by_first = LinearModel(np.array([1.0, 0.0]), 0.0, 0.5, ("a", "b"))
    assert rerank(candidates, features, by_first)[0].tolist() == [7, 3, 5]


# ------------------------------------------------------------- training


def test_a_message_never_votes_for_itself_nor_does_its_own_set():
    from qa.training import IndexViews, voters

    views = IndexViews(np.array([0, 0, 1, 1, 0]), (None, "clinic's row", "asked in A", "asked in A and B", None),
                       ("first", "second"))
    sets_of = {"asked in A": {"A"}, "asked in A and B": {"A", "B"}}
    assert voters(views, sets_of, "A").tolist() == [1, 3]
    # A wording set A holds too stays for B, as it stays in an index built without B.
    assert voters(views, sets_of, "B").tolist() == [1, 2, 3]
    assert voters(views, {"asked in A": {"A"}, "asked in A and B": {"B"}}, "B").tolist() == [1, 2]


def _reading(cosines, lexical, words):
    return SimpleNamespace(query=SimpleNamespace(view_cosines=np.asarray(cosines, np.float32),
                                                 lexical_scores=np.asarray(lexical, np.float32),
                                                 alternate_lexical=np.asarray(words, np.float32)))


def test_examples_mark_the_passages_holding_the_quote_and_leave_out_other_kinds():
    from qa.training import IndexViews, LabelledMessage, ranking_examples

    views = IndexViews(np.array([0, 1, 2, 1]), (None, None, None, "other wording"),
                       ("the first passage", "the second passage holds the quote", "a third"))
    messages = [LabelledMessage("1", "a question", "section", "A", "holds the QUOTE"),
                LabelledMessage("2", "a red flag", "red_flag", "A", "holds the quote"),
                LabelledMessage("3", "off topic", "out_of_scope", "A", ""),
                LabelledMessage("4", "other wording", "paraphrase", "B", "the first passage")]
    readings = [_reading([0.9, 0.5, 0.1, 0.95], [0, 2, 0], [1.5])] * 4
    examples = ranking_examples(messages, readings, views)
    assert len(examples) == 2  # the red flag and the uncovered message are not ranking examples
    first = examples[0]
    # Message 1 (set A) hears set B's alternate: passage 1 is lifted to 0.95 + 0.15 lexical, first.
    assert first.candidates[0] == 1 and first.gold.tolist() == [c == 1 for c in first.candidates]
    assert first.features[0, RANKING_FEATURES.index("vote")] == pytest.approx(1.0)
    assert first.features[0, RANKING_FEATURES.index("word_vote")] == pytest.approx(1.0)
    # Message 4 (set B) is that alternate: it never votes for itself, so no vote at all.
    assert not examples[1].features[:, RANKING_FEATURES.index("vote")].any()
    assert not examples[1].features[:, RANKING_FEATURES.index("word_vote")].any()


def test_the_ranking_model_learns_to_follow_the_vote_when_the_vote_is_right():
    from qa.training import RankingExample, fit_ranking

    rng = np.random.default_rng(0)
    examples = []
    for _ in range(60):
        features = rng.uniform(0, 1, (5, len(RANKING_FEATURES)))
        gold = np.zeros(5, bool)
        gold[int(np.argmax(features[:, RANKING_FEATURES.index("vote")]))] = True
        examples.append(RankingExample(np.arange(5), features, gold))
    model = fit_ranking(examples)
    assert model.cues == RANKING_FEATURES
    vote = RANKING_FEATURES.index("vote")
    assert int(np.argmax(np.abs(model.weights))) == vote and model.weights[vote] > 0
    assert fit_ranking([RankingExample(np.arange(2), np.ones((2, len(RANKING_FEATURES))), np.zeros(2, bool))]) is None


# ------------------------------------------------------------- the artifact and the real sets


def test_the_ranking_model_is_saved_with_the_decisions_and_a_wrong_one_is_refused(built_index_dir):
    from qa.training import Decisions

    models = json.loads((built_index_dir / "decisions.json").read_text())["payload"]["models"]
    ranking = models["ranking"]
    assert ranking["cues"] == list(RANKING_FEATURES) and len(ranking["weights"]) == len(RANKING_FEATURES)
    # Both neighbours' votes count for their passage.
    weights = dict(zip(RANKING_FEATURES, ranking["weights"]))
    assert weights["vote"] > 0 and weights["word_vote"] > 0
    assert Decisions.from_json(json.loads(json.dumps(models))).ranking.cues == RANKING_FEATURES
    with pytest.raises(ValueError, match="ranking model"):
        Decisions.from_json({**models, "ranking": {**ranking, "cues": ["fused", "vote"]}})
    assert Decisions.from_json({**models, "ranking": None}).ranking is None


def test_over_the_labelled_sets_the_learned_order_finds_more_quotes_first_than_the_fused_order(assistant):
    """Each in-scope labelled message re-ranked as a new one would be (its own set's alternate
    questions left out), from the session build's readings (no encode)."""
    from qa.assistant import _training_reader
    from qa.training import index_views, ranking_examples, read_labelled, training_dir

    messages = read_labelled(training_dir())
    read = _training_reader(assistant._loaded, assistant.embedder, assistant.paths)
    examples = ranking_examples(messages, [read(m.question) for m in messages], index_views(assistant.index))
    assert len(examples) > 800
    model = assistant.decisions.ranking
    fused_first = np.mean([e.gold[0] for e in examples])
    learned_first = np.mean([e.gold[np.argmax(e.features @ model.weights)] for e in examples])
    assert learned_first > fused_first + 0.01, (fused_first, learned_first)


def test_serving_re_ranks_and_without_the_model_keeps_the_fused_order(assistant):
    """The same question through the retriever: with a model that reads only the vote, the
    passage its nearest labelled wordings point to comes first; with none, the fused order."""
    retriever = assistant.retriever
    question = "is the gel one the same as the steroid jab or different?"
    _, fused = retriever.search(question, k=5)
    only_vote = np.eye(len(RANKING_FEATURES))[RANKING_FEATURES.index("vote")]
    query, voted = retriever.search(question, k=5, ranker=LinearModel(only_vote, 0.0, 0.5, RANKING_FEATURES))
    vote = neighbour_vote(query.view_cosines, retriever._owner, retriever._alternate_ids, len(assistant.passages))
    assert voted[0].passage == assistant.passages[int(np.argmax(vote))]
    assert [h.score for h in voted] == sorted((h.score for h in voted), reverse=True)
    assert [h.passage.id for h in fused] == [h.passage.id for h in retriever.search(question, k=5)[1]]
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)
