"""BLEU (Papineni et al., 2002) for scoring generated captions against reference captions.

Corpus BLEU-n = BP * exp(mean(log p_1 .. log p_n)), where p_k is the clipped ("modified")
k-gram precision summed over the whole corpus and BP = min(1, exp(1 - r / c)) with c the
total hypothesis length and r the sum, over sentences, of the reference length closest
to each hypothesis (the shorter one on a tie, as multi-bleu.perl and NLTK do).

No smoothing: if any p_k is zero (including when no hypothesis has k tokens), BLEU-n is
exactly 0 for every n >= k, as standard corpus BLEU reports it. The course scores with
NLTK's sentence BLEU-1; `sentence_bleu(refs, hyp, max_n=1)` gives the same number for any
non-empty hypothesis. Note NLTK counts at least one k-gram for a hypothesis shorter than
k; here, as in the paper and multi-bleu.perl, such a sentence adds 0 to the denominator.

Tokens: each sentence is either a string, split on whitespace, or a list of tokens.
"""

import math
from collections import Counter


def bleu_scores(references, hypotheses, max_n=4):
    """Corpus-level BLEU-1 .. BLEU-`max_n`.

    Args:
        references: one entry per hypothesis, each a list of reference sentences (a
            string or a token list each); a bare string counts as a single reference.
            A single tokenised reference must be wrapped: [["a", "cat"]].
        hypotheses: list of hypothesis sentences (strings or token lists).
        max_n: largest n-gram order.

    Returns:
        {"bleu1": float, ..., f"bleu{max_n}": float}, each in [0, 1].

    Example:
        >>> bleu_scores([["the cat sat"]], ["the cat sat"], max_n=2)
        {'bleu1': 1.0, 'bleu2': 1.0}
    """
    _check_max_n(max_n)
    if isinstance(hypotheses, str) or not hasattr(hypotheses, "__len__"):
        raise TypeError("hypotheses must be a list of sentences, not a single string")
    if isinstance(references, str) or len(references) != len(hypotheses):
        raise ValueError(f"references must have one entry per hypothesis: got "
                         f"{len(hypotheses)} hypotheses and "
                         f"{'a string' if isinstance(references, str) else len(references)}"
                         f" reference entries")
    if not hypotheses:
        raise ValueError("hypotheses is empty; BLEU needs at least one sentence")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for i, (refs, hyp) in enumerate(zip(references, hypotheses)):
        m, t, c, r = _sentence_stats(refs, hyp, max_n, i)
        matches = [a + b for a, b in zip(matches, m)]
        totals = [a + b for a, b in zip(totals, t)]
        hyp_len += c
        ref_len += r
    return _combine(matches, totals, hyp_len, ref_len)


def sentence_bleu(references, hypothesis, max_n=4):
    """BLEU-`max_n` of one hypothesis against its references (same rules, no smoothing).

    Args:
        references: list of reference sentences, or one string.
        hypothesis: one sentence (string or token list).
        max_n: largest n-gram order.

    Returns:
        A float in [0, 1].
    """
    _check_max_n(max_n)
    matches, totals, c, r = _sentence_stats(references, hypothesis, max_n, 0)
    return _combine(matches, totals, c, r)[f"bleu{max_n}"]


def _check_max_n(max_n):
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"max_n must be a positive int, got {max_n!r}")


def _tokens(sentence, what):
    if isinstance(sentence, str):
        return sentence.split()
    if isinstance(sentence, (list, tuple)) and all(isinstance(t, str) for t in sentence):
        return list(sentence)
    raise TypeError(f"{what} must be a string or a list of string tokens, "
                    f"got {type(sentence).__name__}")


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _sentence_stats(references, hypothesis, max_n, index):
    """Clipped matches and totals per order, hypothesis length, closest reference length."""
    hyp = _tokens(hypothesis, f"hypothesis {index}")
    if isinstance(references, str):
        references = [references]
    if not isinstance(references, (list, tuple)) or not references:
        raise ValueError(f"references for hypothesis {index} must be a non-empty list")
    refs = [_tokens(ref, f"reference of hypothesis {index}") for ref in references]
    matches, totals = [], []
    for n in range(1, max_n + 1):
        counts = _ngrams(hyp, n)
        max_ref = Counter()
        for ref in refs:
            max_ref |= _ngrams(ref, n)  # | keeps the larger count of each n-gram
        matches.append(sum(min(c, max_ref[g]) for g, c in counts.items()))
        totals.append(max(len(hyp) - n + 1, 0))
    closest = min((abs(len(ref) - len(hyp)), len(ref)) for ref in refs)[1]
    return matches, totals, len(hyp), closest


def _combine(matches, totals, hyp_len, ref_len):
    """BLEU-1 .. BLEU-n from summed statistics."""
    if hyp_len == 0:
        bp = 0.0
    else:
        bp = 1.0 if hyp_len > ref_len else math.exp(1.0 - ref_len / hyp_len)
    scores, log_sum = {}, 0.0
    for n, (m, t) in enumerate(zip(matches, totals), start=1):
        if m == 0 or log_sum == -math.inf:
            log_sum = -math.inf  # a zero precision zeroes every higher order too
            scores[f"bleu{n}"] = 0.0
            continue
        log_sum += math.log(m / t)
        scores[f"bleu{n}"] = bp * math.exp(log_sum / n)
    return scores
