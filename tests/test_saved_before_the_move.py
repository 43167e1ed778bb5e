"""Files saved before the package moved into one package per section still load.

`tests/data/*-before-the-move.keras` were written by commit 0a121b1 (the flat layout, e.g.
`tfcs231n.captioning.CaptioningRNN`, `tfcs231n.gan.LeakyReLU`), with the outputs that code
computed beside them in the `.npz`. Keras finds the classes by their registered names
("tfcs231n>CaptioningRNN"), which the move kept.
"""

from pathlib import Path

import keras
import numpy as np

import tfcs231n.captioning.model  # noqa: F401 - registers CaptioningRNN
import tfcs231n.gan.models  # noqa: F401 - registers LeakyReLU

DATA = Path(__file__).with_name("data")


def test_a_captioner_saved_before_the_move_loads_and_computes_the_same():
    saved = np.load(DATA / "captioner-before-the-move.npz")
    model = keras.saving.load_model(DATA / "captioner-before-the-move.keras")
    assert type(model).__module__ == "tfcs231n.captioning.model"
    loss = float(model.caption_loss(saved["features"], saved["captions"]))
    assert loss == float(saved["loss"])
    np.testing.assert_array_equal(model.sample(saved["features"], 4).numpy(), saved["ids"])


def test_a_model_with_the_gan_leaky_relu_saved_before_the_move_loads():
    saved = np.load(DATA / "leaky-relu-model-before-the-move.npz")
    model = keras.saving.load_model(DATA / "leaky-relu-model-before-the-move.keras")
    assert type(model.layers[-1]).__module__ == "tfcs231n.gan.models"
    np.testing.assert_array_equal(model(saved["x"]).numpy(), saved["out"])
