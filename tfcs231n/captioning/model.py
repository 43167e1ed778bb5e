"""Image captioning: the course's CaptioningRNN as a Keras model, decoding, BLEU, export.

The loss is the course's exactly (`cs231n/classifiers/rnn.py`), built from the functional ops
of `tfcs231n.captioning.ops`; `torchref.captioning` is the NumPy/PyTorch twin it is checked
against. Decoding (greedy and beam search) runs inside `tf.function`, so the same graph is
what `export_captioner` writes into a SavedModel.
"""

import keras
import numpy as np
import tensorflow as tf

from tfcs231n.captioning import bleu as metrics
from tfcs231n._checks import Dims, finite, int_tensor
from tfcs231n.captioning.ops import (_lstm_recurrence, _rnn_recurrence, lstm, rnn, temporal_affine,
                                     temporal_cross_entropy, word_embedding)

SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>")

# cell_type -> (sequence op, one recurrence step on (h, c); the RNN carries c unused)
_CELLS = {
    "rnn": (rnn, 1, lambda xw, h, c, Wh, b: (_rnn_recurrence(xw, h, Wh, b), c)),
    "lstm": (lstm, 4, _lstm_recurrence),
}


def caption_scores(params, features, captions_in, cell_type):
    """Teacher-forced word scores of the course's captioning network.

    Args:
        params: dict with the course's names (see `CaptioningRNN`), tensors or arrays.
        features: image features, (N, D).
        captions_in: int (N, T) word ids fed at each step.
        cell_type: "rnn" or "lstm".

    Returns:
        scores, (N, T, V).
    """
    p = params
    sequence = _CELLS[cell_type][0]
    h0 = tf.matmul(features, p["W_proj"]) + p["b_proj"]  # (N, H)
    x = word_embedding(captions_in, p["W_embed"])  # (N, T, W)
    h = sequence(x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T, H)
    return temporal_affine(h, p["W_vocab"], p["b_vocab"])  # (N, T, V)


def captioning_loss(params, features, captions, null, cell_type):
    """The course's loss: predict captions[:, 1:] from captions[:, :-1], `null` masked.

    Args:
        params: dict with the course's names, as for `caption_scores`.
        features: (N, D). captions: int (N, T + 1), starting with <START>.
        null: the id of <NULL>.

    Returns:
        The scalar loss, summed over time and averaged over N.
    """
    captions = int_tensor("captions", captions)
    Dims().check("features", features, "N,D").check("captions", captions, "N,T")
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    scores = caption_scores(params, features, captions_in, cell_type)
    return temporal_cross_entropy(scores, captions_out, captions_out != null)


def _positive_int(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@keras.saving.register_keras_serializable(package="tfcs231n")
class CaptioningRNN(keras.Model):
    """The course's captioning network: image features -> h0 -> RNN/LSTM over words.

    Args:
        word_to_idx: dict word -> id over V words, with '<NULL>', '<START>' and '<END>'.
        input_dim: D, the size of an image feature vector.
        wordvec_dim: W, the size of a word vector.
        hidden_dim: H, the hidden size.
        cell_type: "rnn" or "lstm".
        dtype: "float32" or "float64" for every weight and computation.
        seed: seeds the course's initialisation (randn / sqrt(fan_in), W_embed randn / 100,
            biases zero).

    `params` maps the course's names to the variables: W_proj (D, H), b_proj (H,),
    W_embed (V, W), Wx (W, H|4H), Wh (H, H|4H), b (H|4H,), W_vocab (H, V), b_vocab (V,).

    Example:
        >>> model = CaptioningRNN(data["word_to_idx"], cell_type="lstm")
        >>> loss = model.caption_loss(features, captions)  # (N, D), int (N, T) -> scalar
        >>> ids = model.sample(features, max_length=30)  # int32 (N, 30)
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype="float32", seed=0, **kwargs):
        if cell_type not in _CELLS:
            raise ValueError(f"cell_type must be 'rnn' or 'lstm', got {cell_type!r}")
        if "<NULL>" not in word_to_idx:
            raise ValueError("word_to_idx lacks '<NULL>', which masks the loss")
        if not isinstance(dtype, str):  # a DTypePolicy (or its config) from a saved model
            dtype = keras.dtype_policies.get(dtype).name
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        super().__init__(dtype=dtype, **kwargs)
        # Keras's Trainer sets an instance attribute `loss = None` that would hide the
        # `loss` method below, which points course-style calls to tfcs231n.course.
        self.__dict__.pop("loss", None)
        self.word_to_idx = dict(word_to_idx)
        self.input_dim = _positive_int("input_dim", input_dim)
        self.wordvec_dim = _positive_int("wordvec_dim", wordvec_dim)
        self.hidden_dim = _positive_int("hidden_dim", hidden_dim)
        self.cell_type = cell_type
        self.seed = seed
        # As in the course, <START>/<END> may be absent (its loss check uses a vocabulary
        # without them); only sampling needs them.
        self._null, self._start, self._end = (word_to_idx.get(t) for t in SPECIAL_TOKENS)
        _, gates, self._recurrence = _CELLS[cell_type]

        V, D, W, H = len(word_to_idx), input_dim, wordvec_dim, hidden_dim
        rng = np.random.default_rng(seed)

        def weight(name, shape, scale):
            value = rng.standard_normal(shape) * scale if scale else np.zeros(shape)
            return self.add_weight(shape=shape, name=name, dtype=dtype,
                                   initializer=keras.initializers.Constant(value))

        self.params = {
            "W_proj": weight("W_proj", (D, H), 1 / np.sqrt(D)),
            "b_proj": weight("b_proj", (H,), 0),
            "W_embed": weight("W_embed", (V, W), 1 / 100),
            "Wx": weight("Wx", (W, gates * H), 1 / np.sqrt(W)),
            "Wh": weight("Wh", (H, gates * H), 1 / np.sqrt(H)),
            "b": weight("b", (gates * H,), 0),
            "W_vocab": weight("W_vocab", (H, V), 1 / np.sqrt(H)),
            "b_vocab": weight("b_vocab", (V,), 0),
        }
        self.built = True  # every weight exists already; lets load_weights work at once
        # (max_length, beam_size) -> compiled decoder. A cache, not model state: set past
        # Keras's attribute tracking so checkpoints and SavedModels don't try to save it.
        object.__setattr__(self, "_decoders", {})

    @property
    def vocab_size(self):
        return len(self.word_to_idx)

    def _tensors(self):
        return {k: tf.convert_to_tensor(v) for k, v in self.params.items()}

    def _features(self, features):
        features = tf.cast(tf.convert_to_tensor(features), self.compute_dtype)
        Dims().check("features", features, f"N,{self.input_dim}")
        return features

    def call(self, features, captions_in):
        """Teacher-forced scores (N, T, V) for features (N, D) and int ids (N, T)."""
        return caption_scores(self._tensors(), self._features(features), captions_in,
                              self.cell_type)

    def caption_loss(self, features, captions):
        """The course's loss for features (N, D) and captions int (N, T + 1); a scalar."""
        return captioning_loss(self._tensors(), self._features(features), captions,
                               self._null, self.cell_type)

    def sample(self, features, max_length=30, beam_size=1):
        """Captions for image features, decoded inside a `tf.function`.

        beam_size=1 is the course's greedy decoding. Larger beams keep the `beam_size`
        most probable partial captions (sum of log-probabilities) and return the most
        probable one. A GNMT-style length penalty was measured on the synthetic world and
        did not raise BLEU, so there is none. Unlike the course's `sample`, which keeps
        writing words after <END>, every position after a caption's <END> holds <NULL>.

        Args:
            features: (N, D).
            max_length: T, the number of words generated (the <START> token not included).
            beam_size: B >= 1.

        Returns:
            int32 (N, T) word ids.
        """
        max_length = _positive_int("max_length", max_length)
        beam_size = _positive_int("beam_size", beam_size)
        # NaN features would decode to a caption of id-0 words, not to an error.
        return self.decoder(max_length, beam_size)(finite("features", self._features(features)))

    def decoder(self, max_length, beam_size):
        """The compiled decoder for one (max_length, beam_size): features (None, D) -> ids.

        One trace per setting, whatever the batch size (a fresh trace per batch size would
        recompile the whole beam search each time).
        """
        if self._start is None or self._end is None:
            raise ValueError("sampling needs '<START>' and '<END>' in word_to_idx")
        key = (max_length, beam_size)
        if key not in self._decoders:
            spec = tf.TensorSpec([None, self.input_dim], self.compute_dtype, name="features")
            self._decoders[key] = tf.function(
                lambda f: self._beam_search(f, max_length, beam_size), input_signature=[spec]
            )
        return self._decoders[key]

    def _beam_search(self, features, max_length, beam_size):
        p = self._tensors()
        n, B, V = tf.shape(features)[0], beam_size, self.vocab_size
        h = tf.repeat(tf.matmul(features, p["W_proj"]) + p["b_proj"], B, axis=0)  # (N*B, H)
        c = tf.zeros_like(h)
        words = tf.fill([n * B], self._start)
        # Only the first beam is live at the start, so the B beams do not all pick one word.
        scores = tf.tile(tf.constant([[0.0] + [-np.inf] * (B - 1)], h.dtype), [n, 1])  # (N, B)
        finished = tf.zeros([n, B], tf.bool)
        tokens = tf.fill([n, B, max_length], self._null)
        # A finished beam may only append <NULL>, at no cost, so its score stays fixed.
        only_null = tf.where(tf.range(V) == self._null, 0.0, -np.inf)
        only_null = tf.cast(only_null, h.dtype)
        positions = tf.range(max_length)
        for t in tf.range(max_length):
            x = tf.gather(p["W_embed"], words)  # (N*B, W)
            h, c = self._recurrence(tf.matmul(x, p["Wx"]), h, c, p["Wh"], p["b"])
            logp = tf.nn.log_softmax(tf.matmul(h, p["W_vocab"]) + p["b_vocab"])  # (N*B, V)
            logp = tf.where(finished[..., None], only_null, tf.reshape(logp, [n, B, V]))
            total = tf.reshape(scores[..., None] + logp, [n, B * V])
            scores, best = tf.math.top_k(total, k=B)  # (N, B)
            parent, word = best // V, tf.cast(best % V, tf.int32)
            h, c = (self._follow(s, parent) for s in (h, c))
            finished = tf.gather(finished, parent, batch_dims=1) | (word == self._end)
            tokens = tf.gather(tokens, parent, batch_dims=1)
            tokens = tf.where(positions == t, word[..., None], tokens)
            words = tf.reshape(word, [-1])
        return tokens[:, 0]  # top_k sorts, so beam 0 is the most probable

    def loss(self, *args, **kwargs):
        """Refuses: the course's ``loss, grads = model.loss(...)`` would unpack a scalar."""
        raise TypeError(
            "CaptioningRNN.loss is the course's API, returning (loss, grads): use "
            "tfcs231n.course.classifiers.rnn.CaptioningRNN for it; this native model's "
            "scalar loss is model.caption_loss(features, captions)"
        )

    def compile(self, *args, **kwargs):
        raise NotImplementedError(
            "CaptioningRNN is trained with tfcs231n.captioning.solver.CaptioningSolver, "
            "not compile()/fit() (Keras's compile would replace its `loss` method)"
        )

    def _follow(self, state, parent):
        """Reorders (N*B, H) beam states so beam j continues from beam parent[:, j]."""
        n, B = tf.shape(parent)[0], parent.shape[1]
        state = tf.reshape(state, [n, B, self.hidden_dim])
        return tf.reshape(tf.gather(state, parent, batch_dims=1), [n * B, self.hidden_dim])

    def get_config(self):
        return {
            **super().get_config(),
            "word_to_idx": self.word_to_idx, "input_dim": self.input_dim,
            "wordvec_dim": self.wordvec_dim, "hidden_dim": self.hidden_dim,
            "cell_type": self.cell_type, "seed": self.seed, "dtype": self.compute_dtype,
        }


# ----------------------------------------------------------------------------- measuring


def references_by_image(captions, image_idxs, idx_to_word):
    """Groups reference captions by image: dict image index -> list of word lists."""
    refs = {}
    for caption, image in zip(np.asarray(captions), np.asarray(image_idxs)):
        refs.setdefault(int(image), []).append(caption_words(caption, idx_to_word))
    return refs


def caption_words(ids, idx_to_word):
    """The words of one caption, special tokens dropped, stopping at <END>."""
    words = []
    for i in np.asarray(ids).astype(int):
        try:  # a list (the course's data) or a dict
            word = idx_to_word[i] if i >= 0 else None
        except (IndexError, KeyError):
            word = None
        if word is None:
            raise ValueError(f"id {i} is not in idx_to_word ({len(idx_to_word)} words)")
        if word == "<END>":
            break
        if word not in ("<NULL>", "<START>"):
            words.append(word)
    return words


def evaluate_bleu(model, data, split="val", beam_size=1, max_length=None, batch_size=500):
    """Corpus BLEU-1..4 of the model's captions for every image of a split.

    Each image is captioned once and scored against all of its reference captions. On
    templated captions BLEU rewards the shared grammar generously, so `exact` (the fraction
    of images whose caption equals one of its references word for word) is reported too.

    Returns:
        dict bleu1..bleu4, exact, n_images.
    """
    refs = references_by_image(data[f"{split}_captions"], data[f"{split}_image_idxs"],
                               data["idx_to_word"])
    images = sorted(refs)
    features = data[f"{split}_features"][images]
    max_length = max_length or data[f"{split}_captions"].shape[1] - 1
    hyps = []
    for i in range(0, len(images), batch_size):
        ids = model.sample(features[i:i + batch_size], max_length, beam_size).numpy()
        hyps += [caption_words(row, data["idx_to_word"]) for row in ids]
    references = [refs[i] for i in images]
    scores = metrics.bleu_scores(references, hyps)
    exact = np.mean([hyp in ref for hyp, ref in zip(hyps, references)])
    return {**scores, "exact": float(exact), "n_images": len(images)}


# ----------------------------------------------------------------------------- export


def export_captioner(model, path, idx_to_word, max_length=30, beam_size=1):
    """Writes a SavedModel that captions image features.

    Serving signature `serving_default`: `features` float32 (None, D) -> `caption_ids`
    int32 (None, max_length) and `captions` string (None,) (words joined by spaces, special
    tokens dropped). Load it with `tf.saved_model.load(path).signatures["serving_default"]`.
    """
    if len(idx_to_word) != model.vocab_size:
        raise ValueError(
            f"idx_to_word has {len(idx_to_word)} words but the model's vocabulary has "
            f"{model.vocab_size}"
        )
    max_length = _positive_int("max_length", max_length)
    beam_size = _positive_int("beam_size", beam_size)
    decode = model.decoder(max_length, beam_size)  # raises first if <START>/<END> are absent
    vocab = tf.constant(list(idx_to_word))
    special = tf.constant([model._null, model._start, model._end], tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None, model.input_dim], tf.float32,
                                                 name="features")])
    def serve(features):
        ids = decode(tf.cast(features, model.compute_dtype))
        keep = tf.reduce_all(ids[..., None] != special, axis=-1)
        words = tf.ragged.boolean_mask(tf.gather(vocab, ids), keep)
        return {"caption_ids": ids, "captions": tf.strings.reduce_join(words, axis=1,
                                                                        separator=" ")}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve)
    archive.write_out(str(path), verbose=False)
    return path
