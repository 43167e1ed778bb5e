import math

import pytest

from tfcs231n.captioning.bleu import bleu_scores, sentence_bleu

CAT_REFS = ["the cat is on the mat", "there is a cat on the mat"]


def test_papineni_modified_unigram_precision():
    # Papineni et al. (2002), section 2.1: "the" appears 7 times in the hypothesis but
    # at most twice in one reference, so p1 = 2/7. c = 7 equals the closest reference
    # length (7), so the brevity penalty is 1 and BLEU-1 = p1.
    actual = sentence_bleu(CAT_REFS, "the the the the the the the", max_n=1)
    assert actual == pytest.approx(2 / 7, rel=1e-12)
    # The bigram "the the" never occurs in a reference: p2 = 0, so BLEU-2 is 0.
    assert sentence_bleu(CAT_REFS, "the the the the the the the", max_n=2) == 0.0


def test_exact_match_scores_one():
    scores = bleu_scores([CAT_REFS], ["there is a cat on the mat"])
    assert scores == pytest.approx({"bleu1": 1.0, "bleu2": 1.0, "bleu3": 1.0, "bleu4": 1.0})
    assert sentence_bleu(CAT_REFS, "the cat is on the mat".split()) == pytest.approx(1.0)


def test_brevity_penalty_on_short_hypothesis():
    # Every n-gram of "the cat" is in the reference (p1 = p2 = 1), but c = 2 < r = 6:
    # BP = exp(1 - r / c) = exp(1 - 6 / 2) = exp(-2).
    scores = bleu_scores([["the cat sat on the mat"]], ["the cat"], max_n=2)
    assert scores["bleu1"] == pytest.approx(math.exp(-2), rel=1e-12)
    assert scores["bleu2"] == pytest.approx(math.exp(-2), rel=1e-12)


def test_closest_reference_length_prefers_shorter_on_tie():
    # c = 5; references of length 4 and 6 are equally close, the shorter one (4) is used,
    # so c > r and BP = 1. Choosing 6 would give exp(1 - 6/5).
    hyp = "a b c d e"
    assert sentence_bleu(["a b c d", "a b c d e f"], hyp, max_n=1) == pytest.approx(1.0)


def test_corpus_bleu2_worked_by_hand():
    # Sentence 1: hyp "the cat sat on the mat" (c=6), refs of length 6 and 7 -> r=6.
    #   unigrams: the x2 (a reference has 2), cat, on, mat match; sat does not -> 5/6
    #   bigrams: "the cat", "on the", "the mat" match; "cat sat", "sat on" do not -> 3/5
    # Sentence 2: hyp "dog dog runs" (c=3), refs of length 4 and 4 -> r=4.
    #   unigrams: dog x2 clipped to 1, runs 1 -> 2/3
    #   bigrams: "dog runs" matches, "dog dog" does not -> 1/2
    # Corpus: p1 = (5+2)/(6+3) = 7/9, p2 = (3+1)/(5+2) = 4/7, c = 9, r = 10,
    #   BP = exp(1 - 10/9) = exp(-1/9)
    #   BLEU-1 = exp(-1/9) * 7/9
    #   BLEU-2 = exp(-1/9) * sqrt(7/9 * 4/7) = exp(-1/9) * 2/3
    references = [CAT_REFS, ["the dog runs fast", "a dog is running"]]
    hypotheses = ["the cat sat on the mat", ["dog", "dog", "runs"]]
    scores = bleu_scores(references, hypotheses, max_n=2)
    assert scores["bleu1"] == pytest.approx(math.exp(-1 / 9) * 7 / 9, rel=1e-12)
    assert scores["bleu2"] == pytest.approx(math.exp(-1 / 9) * 2 / 3, rel=1e-12)
    # Corpus BLEU pools counts; it is not the mean of the sentence scores.
    mean = (sentence_bleu(references[0], hypotheses[0], 2)
            + sentence_bleu(references[1], hypotheses[1], 2)) / 2
    assert scores["bleu2"] != pytest.approx(mean)


def test_zero_overlap_scores_zero():
    scores = bleu_scores([CAT_REFS], ["dogs bark loudly tonight"])
    assert scores == {"bleu1": 0.0, "bleu2": 0.0, "bleu3": 0.0, "bleu4": 0.0}


def test_zero_higher_order_precision_without_smoothing():
    # Unigrams overlap (p1 = 2/2) but the bigram "mat the" does not: BLEU-2 is 0, and
    # so is every order above it. c = 2 < r = 6 gives BP = exp(-2) on BLEU-1.
    scores = bleu_scores([CAT_REFS], ["mat the"], max_n=3)
    assert scores["bleu1"] == pytest.approx(math.exp(-2))
    assert scores["bleu2"] == 0.0 and scores["bleu3"] == 0.0


def test_hypothesis_shorter_than_n_scores_zero_at_that_order():
    scores = bleu_scores([["the cat"]], ["the cat"], max_n=3)
    assert scores["bleu2"] == pytest.approx(1.0)
    assert scores["bleu3"] == 0.0  # no trigram at all: p3 = 0/0, reported as 0


def test_empty_hypothesis_scores_zero():
    assert bleu_scores([CAT_REFS], [""], max_n=1) == {"bleu1": 0.0}


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\breferences\b.*\b2\b.*\b1\b"):
        bleu_scores([CAT_REFS], ["a", "b"])
    with pytest.raises(ValueError, match=r"\bhypotheses\b.*\bempty\b"):
        bleu_scores([], [])
    with pytest.raises(ValueError, match=r"\breferences\b.*\bhypothesis 0\b"):
        bleu_scores([[]], ["a cat"])
    with pytest.raises(ValueError, match=r"\bmax_n\b.*\b0\b"):
        sentence_bleu(CAT_REFS, "a cat", max_n=0)
    with pytest.raises(TypeError, match=r"\bhypothesis 0\b.*\bint\b"):
        sentence_bleu(CAT_REFS, 42)
    with pytest.raises(TypeError, match="hypotheses"):
        bleu_scores([CAT_REFS], "a cat")
