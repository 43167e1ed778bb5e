"""tfcs231n.captioning.layers: the Keras layers give the functional ops' numbers and serialize."""

import keras
import numpy as np
import pytest

from tfcs231n.captioning import layers
from tfcs231n.parity import engine as parity
from tfcs231n.captioning import ops

TOL64 = parity.TOLERANCES["float64"]


def _close(name, actual, desired):
    row = parity.compare_arrays(name, np.asarray(actual), np.asarray(desired), TOL64)
    assert row.ok, parity.format_table([parity.ParityReport(name, "float64", [row])])


@pytest.mark.parametrize(
    "cell_cls,op,gates", [(layers.VanillaRNNCell, ops.rnn, 1),
                          (layers.LSTMCell, ops.lstm, 4)]
)
def test_cell_inside_keras_rnn_matches_functional_op(cell_cls, op, gates):
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 5, 4, 6
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = (rng.standard_normal(s) for s in [(D, gates * H), (H, gates * H), (gates * H,)])
    cell = cell_cls(H, dtype="float64")
    rnn = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    rnn.build((N, T, D))
    assert [tuple(w.shape) for w in (cell.Wx, cell.Wh, cell.b)] == [Wx.shape, Wh.shape, b.shape]
    assert [w.path.split("/")[-1] for w in cell.weights] == ["Wx", "Wh", "b"]
    cell.Wx.assign(Wx), cell.Wh.assign(Wh), cell.b.assign(b)
    initial = [h0] if gates == 1 else [h0, np.zeros_like(h0)]
    _close("h", rnn(x, initial_state=initial), op(x, h0, Wx, Wh, b))


def test_embedding_and_affine_layers_match_functional_ops():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 7, (2, 3))
    emb = layers.WordEmbedding(7, 5, dtype="float64")
    aff = layers.TemporalAffine(4, dtype="float64")
    feats = emb(ids)
    out = aff(feats)
    _close("embedding", feats, ops.word_embedding(ids, emb.W.numpy()))
    _close("affine", out, ops.temporal_affine(feats, aff.w.numpy(), aff.b.numpy()))
    assert out.shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"\[0, 7\).*\bx\[0, 0\] = 7\b"):
        emb(np.array([[7]]))


@pytest.mark.parametrize(
    "layer",
    [layers.VanillaRNNCell(3, kernel_initializer="ones"), layers.LSTMCell(2),
     layers.WordEmbedding(9, 4), layers.TemporalAffine(6, bias_initializer="ones")],
    ids=lambda l: type(l).__name__,
)
def test_get_config_round_trips(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert keras.saving.get_registered_name(type(layer)) == f"tfcs231n>{type(layer).__name__}"


def test_model_saves_and_reloads_with_identical_outputs(tmp_path):
    ids = keras.Input((5,), dtype="int32")
    h = layers.WordEmbedding(11, 6)(ids)
    h = keras.layers.RNN(layers.LSTMCell(7), return_sequences=True)(h)
    h = keras.layers.RNN(layers.VanillaRNNCell(8), return_sequences=True)(h)
    out = layers.TemporalAffine(11)(h)
    model = keras.Model(ids, out)
    x = np.random.default_rng(2).integers(0, 11, (3, 5))
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(reloaded(x).numpy(), model(x).numpy())


@pytest.mark.parametrize(
    "make,match",
    [(lambda: layers.VanillaRNNCell(0), r"\bunits\b.*\b0\b"),
     (lambda: layers.LSTMCell(2.5), r"\bunits\b.*\b2\.5\b"),
     (lambda: layers.WordEmbedding(-3, 4), r"\bvocab_size\b.*-3\b"),
     (lambda: layers.TemporalAffine(None), r"\bunits\b.*\bNone\b")],
)
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
