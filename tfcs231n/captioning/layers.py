"""Keras layers over the recurrent ops of `tfcs231n.captioning.ops`.

Weights carry the course's names and shapes (Wx, Wh, b; W; w, b), so weights copied from
the functional arguments give the functional op's numbers. The cells follow Keras's cell
protocol (`state_size`, ``call(inputs, states) -> (output, new_states)``) and run inside
`keras.layers.RNN`.
"""

import keras
import tensorflow as tf

from tfcs231n.captioning import ops as rnn_layers
from tfcs231n.captioning.ops import _lstm_recurrence, _rnn_recurrence

_register = keras.saving.register_keras_serializable(package="tfcs231n")


def _positive(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class _Cell(keras.layers.Layer):
    """Shared weights and config of the two cells; `gates` is 1 (RNN) or 4 (LSTM)."""

    gates = 1

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = _positive("units", units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.output_size = units

    def build(self, input_shape):
        width = self.gates * self.units
        self.Wx = self.add_weight(shape=(input_shape[-1], width), name="Wx",
                                  initializer=self.kernel_initializer)
        self.Wh = self.add_weight(shape=(self.units, width), name="Wh",
                                  initializer=self.recurrent_initializer)
        self.b = self.add_weight(shape=(width,), name="b", initializer=self.bias_initializer)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@_register
class VanillaRNNCell(_Cell):
    """The course's vanilla RNN step as a Keras cell: h' = tanh(x Wx + h Wh + b).

    Args:
        units: hidden size H.
        kernel_initializer, recurrent_initializer, bias_initializer: for Wx (D, H),
            Wh (H, H) and b (H,).

    Call arguments:
        inputs: (batch, D). states: [h] with h (batch, H).

    Example:
        >>> layer = keras.layers.RNN(VanillaRNNCell(32), return_sequences=True)
        >>> h = layer(x)  # x (N, T, D) -> h (N, T, 32)
    """

    @property
    def state_size(self):
        return self.units

    def call(self, inputs, states):
        h = _rnn_recurrence(tf.matmul(inputs, self.Wx), states[0], self.Wh, self.b)
        return h, [h]


@_register
class LSTMCell(_Cell):
    """The course's LSTM step as a Keras cell, gates stacked in the course's order i, f, o, g.

    Differs from `keras.layers.LSTMCell` in gate order (Keras: i, f, c, o) and in having no
    unit forget bias, as in the course; `tfcs231n.interop.reorder_gates` converts weights.

    Args:
        units: hidden size H.
        kernel_initializer, recurrent_initializer, bias_initializer: for Wx (D, 4H),
            Wh (H, 4H) and b (4H,).

    Call arguments:
        inputs: (batch, D). states: [h, c], each (batch, H).
    """

    gates = 4

    @property
    def state_size(self):
        return [self.units, self.units]

    def call(self, inputs, states):
        h, c = _lstm_recurrence(tf.matmul(inputs, self.Wx), states[0], states[1], self.Wh,
                                self.b)
        return h, [h, c]


@_register
class WordEmbedding(keras.layers.Layer):
    """Word ids (N, T) -> vectors (N, T, dim); ids outside [0, vocab_size) are an error.

    Args:
        vocab_size: V. dim: D. The weight W is (V, D), initialised N(0, 0.01^2) as the
            course's W_embed = randn(V, D) / 100.
    """

    def __init__(self, vocab_size, dim, embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = _positive("vocab_size", vocab_size)
        self.dim = _positive("dim", dim)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.01)
        )

    def build(self, input_shape):
        self.W = self.add_weight(shape=(self.vocab_size, self.dim), name="W",
                                 initializer=self.embeddings_initializer)

    def call(self, x):
        return rnn_layers.word_embedding(x, tf.convert_to_tensor(self.W))

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "dim": self.dim,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }


@_register
class TemporalAffine(keras.layers.Layer):
    """The same affine map at every time step: (N, T, D) -> (N, T, units).

    Args:
        units: M. Weights w (D, M) and b (M,).
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = _positive("units", units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w",
                                 initializer=self.kernel_initializer)
        self.b = self.add_weight(shape=(self.units,), name="b", initializer=self.bias_initializer)

    def call(self, x):
        return rnn_layers.temporal_affine(
            x, tf.convert_to_tensor(self.w), tf.convert_to_tensor(self.b)
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
