"""BLEU (tfcs231n.captioning.bleu) against NLTK's on the synthetic world's captions, and
the acceptance run: an LSTM captioner learns the synthetic world well enough to be measured.
"""

import numpy as np
import pytest
from nltk.translate import bleu_score as nltk_bleu

from tfcs231n.captioning import bleu as metrics
from tfcs231n.captioning.model import CaptioningRNN, caption_words, evaluate_bleu, references_by_image
from tfcs231n.captioning.solver import CaptioningSolver
from tfcs231n.data import SYNTHETIC_CAPTIONING, synthetic, synthetic_coco
from tfcs231n.data.coco import load_coco_data

# NLTK's corpus_bleu weights for BLEU-1 .. BLEU-4 (uniform, as ours).
NLTK_WEIGHTS = [(1.0,), (1 / 2,) * 2, (1 / 3,) * 3, (1 / 4,) * 4]
FILLER = "zzz"  # a token in no reference


@pytest.fixture(scope="module")
def val_references():
    """The synthetic world's validation references as token lists: 500 images, 2 or 3
    captions each, 4 to 15 words."""
    args = SYNTHETIC_CAPTIONING
    _, scenes, _ = synthetic_coco.split_scenes("val", args["n_val"], args["seed"],
                                               args["image_size"])
    return [[caption.split() for caption in synthetic.describe_scene(scene, args["image_size"])]
            for scene in scenes]


def _perturb(refs, kind, rng, vocab):
    """A hypothesis of at least 4 tokens made from one of `refs` (token lists)."""
    words = list(refs[rng.integers(len(refs))])
    if kind == "mixed":
        kind = ["exact", "dropped", "replaced", "swapped", "repeated", "truncated",
                "midway", "padded"][rng.integers(8)]
    if kind == "dropped" and len(words) > 4:
        del words[rng.integers(len(words))]
    elif kind == "replaced":
        words[rng.integers(len(words))] = vocab[rng.integers(len(vocab))]
    elif kind == "swapped":
        i = rng.integers(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif kind == "repeated":  # clipping: a repeated word counts once per reference use
        i = rng.integers(len(words))
        words.insert(i, words[i])
    elif kind == "truncated":  # shorter than the longest reference: the brevity penalty
        words = max(refs, key=len)[:max(4, len(max(refs, key=len)) - 3)]
    elif kind == "midway":  # as far from the shortest reference as from the longest
        short, long = min(refs, key=len), max(refs, key=len)
        words = long[:max(4, (len(short) + len(long)) // 2)]
    elif kind == "padded":
        words += [vocab[j] for j in rng.integers(len(vocab), size=3)]
    return words


def _corpus(val_references, kind, single_reference=False, seed=0):
    rng = np.random.default_rng(seed)
    vocab = sorted({w for refs in val_references for ref in refs for w in ref})
    references = [refs[:1] if single_reference else refs for refs in val_references]
    return references, [_perturb(refs, kind, rng, vocab) for refs in references]


def _nltk_scores(references, hypotheses):
    scores = nltk_bleu.corpus_bleu(references, hypotheses, weights=NLTK_WEIGHTS)
    return {f"bleu{n}": score for n, score in enumerate(scores, start=1)}


def _brevity_penalty(references, hypotheses):
    """NLTK's corpus brevity penalty for these sentences."""
    hyp_len = sum(len(h) for h in hypotheses)
    ref_len = sum(nltk_bleu.closest_ref_length(r, len(h)) for r, h in zip(references, hypotheses))
    return nltk_bleu.brevity_penalty(ref_len, hyp_len)


@pytest.mark.parametrize("single_reference", [False, True], ids=["all-refs", "one-ref"])
@pytest.mark.parametrize("kind", ["exact", "dropped", "replaced", "swapped", "repeated",
                                  "truncated", "midway", "padded", "mixed"])
def test_corpus_bleu_equals_nltk(val_references, kind, single_reference):
    references, hypotheses = _corpus(val_references, kind, single_reference)
    actual = metrics.bleu_scores(references, hypotheses, max_n=4)
    # No smoothing on either side, so compared where every n-gram order has a match.
    assert all(score > 0 for score in actual.values()), actual
    desired = _nltk_scores(references, hypotheses)
    assert actual == pytest.approx(desired, rel=1e-12, abs=0)
    # The corpora exercise what they are named for.
    bp = _brevity_penalty(references, hypotheses)
    if kind in ("truncated", "dropped"):
        assert bp < 1
    if kind in ("exact", "padded", "midway"):
        assert bp == 1  # midway: a tie goes to the shorter reference, which it outgrows
    if kind != "midway":  # a prefix of a reference, so it matches like "exact"
        assert (actual["bleu4"] == pytest.approx(1.0)) == (kind == "exact"), actual


def test_sentence_bleu1_equals_nltk_as_the_course_scores(val_references):
    # The course's notebooks score each caption with NLTK's sentence_bleu, weights=[1].
    references, hypotheses = _corpus(val_references, "mixed", seed=1)
    hypotheses[::7] = [[FILLER] * 4] * len(hypotheses[::7])  # no match at all: 0
    for refs, hyp in zip(references, hypotheses):
        desired = nltk_bleu.sentence_bleu(refs, hyp, weights=[1.0])
        assert metrics.sentence_bleu(refs, hyp, max_n=1) == pytest.approx(desired, rel=1e-12,
                                                                          abs=0)


def test_a_zero_precision_is_zero_as_nltk_unsmoothed_reports_it(val_references):
    # A filler after every third word leaves no matching 4-gram, but 1- to 3-grams match.
    references, hypotheses = _corpus(val_references, "exact")
    hypotheses = [[w for i, word in enumerate(h) for w in
                   ([word, FILLER] if i % 3 == 2 else [word])] for h in hypotheses]
    actual = metrics.bleu_scores(references, hypotheses, max_n=4)
    with pytest.warns(UserWarning, match="4-gram"):
        desired = _nltk_scores(references, hypotheses)
    assert [actual[f"bleu{n}"] for n in (1, 2, 3)] == pytest.approx(
        [desired[f"bleu{n}"] for n in (1, 2, 3)], rel=1e-12, abs=0)
    assert min(actual[f"bleu{n}"] for n in (1, 2, 3)) > 0
    # NLTK's method0 stands a zero precision in by the smallest float ("the BLEU score
    # evaluates to 0", its warning says); ours reports the 0 itself.
    assert actual["bleu4"] == 0.0
    assert 0 < desired["bleu4"] < 1e-70

    # No unigram matches anywhere: both give exactly 0 at every order.
    fillers = [[FILLER] * len(h) for h in hypotheses]
    assert metrics.bleu_scores(references, fillers) == _nltk_scores(references, fillers) == {
        "bleu1": 0, "bleu2": 0, "bleu3": 0, "bleu4": 0}


def test_hypotheses_shorter_than_n_differ_from_nltk_only_in_its_denominator(val_references):
    # NLTK counts max(1, len - n + 1) n-grams for a hypothesis, so a 2-word one adds a
    # trigram and a 4-gram to the denominators; the paper and ours count none (bleu.py).
    references, hypotheses = _corpus(val_references, "exact")
    hypotheses[::5] = [h[:2] for h in hypotheses[::5]]
    actual = metrics.bleu_scores(references, hypotheses, max_n=4)
    desired = _nltk_scores(references, hypotheses)
    for n in (1, 2, 3, 4):
        ratio = 1.0
        for k in range(1, n + 1):
            ours = sum(max(len(h) - k + 1, 0) for h in hypotheses)
            theirs = sum(max(len(h) - k + 1, 1) for h in hypotheses)
            ratio *= theirs / ours
        assert actual[f"bleu{n}"] == pytest.approx(desired[f"bleu{n}"] * ratio ** (1 / n),
                                                   rel=1e-12, abs=0)
    assert actual["bleu3"] > desired["bleu3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    args = {**SYNTHETIC_CAPTIONING, "write_images": False}
    return load_coco_data(synthetic_coco.write_coco_format(tmp_path_factory.mktemp("w"), **args))


def _captions(model, data, beam_size):
    refs = references_by_image(data["val_captions"], data["val_image_idxs"], data["idx_to_word"])
    images = sorted(refs)
    ids = model.sample(data["val_features"][images], data["val_captions"].shape[1] - 1,
                       beam_size).numpy()
    return [refs[i] for i in images], [caption_words(row, data["idx_to_word"]) for row in ids]


def paired_bootstrap(references, hyps_a, hyps_b, resamples=200, seed=0):
    """BLEU-4(a) - BLEU-4(b) over images resampled with replacement: (mean, std)."""
    rng = np.random.default_rng(seed)
    n, diffs = len(references), []
    for _ in range(resamples):
        idx = rng.integers(n, size=n)
        refs = [references[i] for i in idx]
        diffs.append(metrics.bleu_scores(refs, [hyps_a[i] for i in idx])["bleu4"]
                     - metrics.bleu_scores(refs, [hyps_b[i] for i in idx])["bleu4"])
    return float(np.mean(diffs)), float(np.std(diffs))


@pytest.mark.e2e  # trains 21 epochs
def test_lstm_reaches_bleu4_half_on_val_and_beam_is_no_worse(data):
    model = CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=128, hidden_dim=256,
                          cell_type="lstm")
    untrained = evaluate_bleu(model, data, "val")
    # 21 epochs take about 2 minutes on 2 CPU cores (the issue allows 3).
    CaptioningSolver(model, data, num_epochs=21, batch_size=100, learning_rate=5e-3,
                     lr_decay=0.9, verbose=False).train()
    greedy = evaluate_bleu(model, data, "val")
    beam = evaluate_bleu(model, data, "val", beam_size=3)
    print(f"untrained {untrained}\ngreedy {greedy}\nbeam3 {beam}")
    assert untrained["bleu4"] < 0.05
    assert greedy["bleu4"] >= 0.5
    assert greedy["exact"] > 0.3  # whole captions right, not only the shared grammar
    # Beam search finds more likely captions, and more of them are exactly right.
    assert beam["exact"] >= greedy["exact"]
    # Corpus BLEU-4 of the two decoders differs by a few thousandths on 500 images, and
    # the sign flipped between two runs that differed only in float rounding (beam ahead
    # by 0.007, then behind by 0.002): beam prefers the shorter of two valid references
    # ("a large yellow square" over "... near the bottom left"), which has fewer 4-grams.
    # So "at least as good" is tested as: not worse beyond two bootstrap standard errors.
    refs, hyps_greedy = _captions(model, data, 1)
    _, hyps_beam = _captions(model, data, 3)
    mean, std = paired_bootstrap(refs, hyps_beam, hyps_greedy)
    print(f"beam3 - greedy BLEU-4: {beam['bleu4'] - greedy['bleu4']:+.4f}; paired bootstrap "
          f"mean {mean:+.4f}, std {std:.4f}")
    assert beam["bleu4"] - greedy["bleu4"] >= -2 * std
