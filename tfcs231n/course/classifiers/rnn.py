"""The course's `cs231n/classifiers/rnn.py`: CaptioningRNN over NumPy parameters.

`params` is a dict of NumPy arrays, as in the course, so the course's numeric gradient
check can edit them in place; `loss` evaluates the native loss
(`tfcs231n.captioning.model.captioning_loss`) on them under a `tf.GradientTape` and returns
``(loss, grads)``. To train fast, use the Keras model `tfcs231n.captioning.model.CaptioningRNN`.
"""

import numpy as np
import tensorflow as tf

from tfcs231n.captioning import ops
from tfcs231n.captioning.model import captioning_loss

_GATES = {"rnn": 1, "lstm": 4}


class CaptioningRNN:
    """Image features (N, D) -> h0 -> a vanilla RNN or LSTM over words -> word scores.

    Args:
        word_to_idx: dict word -> id over V words, with '<NULL>' (and '<START>', '<END>'
            for sampling).
        input_dim: D. wordvec_dim: W. hidden_dim: H.
        cell_type: "rnn" or "lstm".
        dtype: NumPy dtype of the parameters (np.float64 for gradient checks).

    The parameters are drawn from NumPy's global generator in the course's order, so
    ``np.random.seed(231)`` before construction gives the course's model.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float32):
        if cell_type not in _GATES:
            raise ValueError('Invalid cell_type "%s"' % cell_type)
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        V, D, W, H = len(word_to_idx), input_dim, wordvec_dim, hidden_dim
        gates = _GATES[cell_type]
        p = self.params
        p["W_embed"] = np.random.randn(V, W) / 100
        p["W_proj"] = np.random.randn(D, H) / np.sqrt(D)
        p["b_proj"] = np.zeros(H)
        p["Wx"] = np.random.randn(W, gates * H) / np.sqrt(W)
        p["Wh"] = np.random.randn(H, gates * H) / np.sqrt(H)
        p["b"] = np.zeros(gates * H)
        p["W_vocab"] = np.random.randn(H, V) / np.sqrt(H)
        p["b_vocab"] = np.zeros(V)
        for k, v in p.items():
            p[k] = v.astype(self.dtype)

    def loss(self, features, captions):
        """The course's training loss and its gradients.

        Args:
            features: (N, D). captions: int (N, T + 1), each starting with <START>.

        Returns:
            (loss, a float; grads, dict name -> NumPy array shaped like params[name]).
        """
        ### BEGIN SOLUTION
        params = {k: tf.constant(v) for k, v in self.params.items()}
        features = tf.constant(np.asarray(features, self.params["W_proj"].dtype))
        with tf.GradientTape() as tape:
            tape.watch(list(params.values()))
            loss = captioning_loss(params, features, captions, self._null, self.cell_type)
        grads = tape.gradient(loss, params)
        return float(loss), {k: tf.convert_to_tensor(g).numpy() for k, g in grads.items()}
        ### END SOLUTION

    def sample(self, features, max_length=30):
        """Greedy captions, the course's way: every step feeds back its most likely word,
        also after <END>.

        Args:
            features: (N, D).

        Returns:
            int32 (N, max_length) word ids (the <START> token not included).
        """
        ### BEGIN SOLUTION
        p = {k: tf.constant(v) for k, v in self.params.items()}
        features = tf.constant(np.asarray(features, self.params["W_proj"].dtype))
        N = features.shape[0]
        captions = self._null * np.ones((N, max_length), dtype=np.int32)
        h = tf.matmul(features, p["W_proj"]) + p["b_proj"]  # (N, H)
        c = tf.zeros_like(h)
        words = np.full(N, self._start)
        for t in range(max_length):
            x = tf.gather(p["W_embed"], words)  # (N, W)
            if self.cell_type == "rnn":
                h = ops.rnn_step(x, h, p["Wx"], p["Wh"], p["b"])
            else:
                h, c = ops.lstm_step(x, h, c, p["Wx"], p["Wh"], p["b"])
            scores = tf.matmul(h, p["W_vocab"]) + p["b_vocab"]  # (N, V)
            words = np.argmax(scores.numpy(), axis=1)
            captions[:, t] = words
        return captions
        ### END SOLUTION
