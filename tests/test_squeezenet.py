"""SqueezeNet 1.1 in Keras against torchref.squeezenet (torchvision's module tree).

Random He-normal weights are copied into both models, then scores and input gradients are
compared with `tfcs231n.parity.engine` at several image sizes, in float32 and float64.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from tfcs231n.parity import engine as parity
from tfcs231n import interop
from tfcs231n.visualization import squeezenet as sq
from torchref import squeezenet as ref

SEED = 231
# 224: the course's size. 193x257: odd, non-square, and the first pool already pads (96 ->
# 48 where floor gives 47). 65x97: every pool pads (32 -> 16 -> 8 -> 4; 48 -> 24 -> 12 ->
# 6). 17x17: the smallest size, the last pool sees a 2x2 map.
SIZES = [(224, 224), (193, 257), (65, 97), (17, 17)]
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@pytest.fixture(scope="module")
def state():
    return ref.random_state_dict(seed=SEED)


@pytest.fixture(scope="module")
def models(state):
    """dtype -> (Keras model, torch model in eval mode), both holding `state`."""
    pairs = {}
    for dtype, torch_dtype in TORCH_DTYPES.items():
        model = sq.SqueezeNet(dtype=dtype, weights=state)
        torch_model = ref.load_arrays(ref.SqueezeNet().to(torch_dtype), state).eval()
        pairs[dtype] = (model, torch_model)
    return pairs


def _nchw(x):
    return x.permute(0, 3, 1, 2)


# ----------------------------------------------------------------------------- structure


def test_parameter_count_equals_torchvision():
    torch_count = sum(p.numel() for p in ref.SqueezeNet().parameters())
    assert torch_count == 1_235_496  # torchvision's published num_params for squeezenet1_1
    assert sq.SqueezeNet().count_params() == torch_count
    assert (sq.SqueezeNet(num_classes=10).count_params()
            == sum(p.numel() for p in ref.SqueezeNet(num_classes=10).parameters()))


def test_layer_output_shapes_match_torch_at_224():
    model = sq.SqueezeNet(input_shape=(224, 224, 3))
    maps = ref.feature_maps(ref.SqueezeNet().eval(), torch.zeros(1, 3, 224, 224))
    for index, fmap in enumerate(maps):
        n, c, h, w = fmap.shape
        assert model.get_layer(f"features_{index}").output.shape == (None, h, w, c)
    assert model.get_layer("classifier_1").output.shape == (None, 13, 13, 1000)
    assert model.output.shape == (None, 1000)


def test_every_torch_key_has_one_keras_weight_and_back(state, models):
    model = sq.SqueezeNet()
    assert sorted(sq.squeezenet_state_dict(model)) == sorted(state)
    paths = [w.path for w in model.weights]
    assert len(paths) == len(state) == 52
    assert "features_3/squeeze/kernel" in paths and "classifier_1/bias" in paths
    back = sq.squeezenet_state_dict(models["float64"][0])  # Keras -> torch layout
    for key, value in state.items():
        np.testing.assert_array_equal(back[key], value, err_msg=key)


def test_fire_config_round_trip():
    fire = sq.Fire(16, 64, 48, name="fire")
    config = fire.get_config()
    assert {k: config[k] for k in ("squeeze_planes", "expand1x1_planes", "expand3x3_planes")} \
        == {"squeeze_planes": 16, "expand1x1_planes": 64, "expand3x3_planes": 48}
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(fire))
    assert type(again) is sq.Fire and again.get_config() == config
    assert again(np.zeros((2, 5, 7, 32), np.float32)).shape == (2, 5, 7, 112)
    with pytest.raises(ValueError, match=r"\bsqueeze_planes\b.*\b0\b"):
        sq.Fire(0, 64, 64)


def test_whole_model_saves_and_reloads(tmp_path, models):
    model = models["float32"][0]
    path = tmp_path / "squeezenet.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    x = np.random.default_rng(SEED).standard_normal((1, 40, 33, 3)).astype(np.float32)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_nests_inside_another_model_and_exports(tmp_path, models):
    model = models["float32"][0]
    images = keras.Input((None, None, 3))
    outer = keras.Model(images, keras.layers.Softmax()(model(images)))
    x = np.random.default_rng(SEED).standard_normal((2, 50, 70, 3)).astype(np.float32)
    scores = model(x).numpy()
    np.testing.assert_allclose(outer(x).numpy(), tf.nn.softmax(scores).numpy(), rtol=1e-6)
    model.export(str(tmp_path / "saved"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "saved"))  # keep it: it owns the variables
    np.testing.assert_allclose(loaded.serve(x).numpy(), scores, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- pooling


@pytest.mark.parametrize("pool,stride", [(3, 2), (2, 2), (3, 3), (2, 3)])
def test_ceil_pool_matches_torch_sizes_values_and_gradients(pool, stride):
    torch_pool = torch.nn.MaxPool2d(pool, stride, ceil_mode=True)
    for size in range(1, 16):
        try:
            expected = torch_pool(torch.zeros(1, 1, size, size)).shape[-1]
        except RuntimeError:
            expected = 0  # torch refuses: no window fits
        assert sq.ceil_pool_output_size(size, pool, stride) == expected, size
    layer = sq.CeilMaxPool2D(pool, stride, dtype="float64")
    report = parity.compare(
        f"pool{pool}s{stride}", lambda x: layer(x),
        parity.torch_reference(lambda x: torch_pool(_nchw(x)).permute(0, 2, 3, 1)),
        # 11 rows, 9 columns: the last window overhangs for some (pool, stride); for (2, 3)
        # the ninth column is one no window reaches.
        {"x": parity.normal((2, 11, 9, 3))}, wrt=["x"], dtype="float64",
    )
    report.assert_ok()


# ----------------------------------------------------------------------------- parity


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
def test_scores_and_input_gradients_match_torch(models, size, dtype):
    model, torch_model = models[dtype]
    report = parity.compare(
        f"squeezenet {size[0]}x{size[1]}", lambda x: model(x),
        parity.torch_reference(lambda x: torch_model(_nchw(x))),
        {"x": parity.normal((1 if size[0] * size[1] > 10_000 else 2, *size, 3))}, wrt=["x"],
        dtype=dtype, seed=SEED,
        output_names=["scores"],
    )
    report.assert_ok()


def test_extract_features_matches_torch_feature_maps(models):
    model, torch_model = models["float64"]
    x = np.random.default_rng(SEED).standard_normal((2, 65, 97, 3))
    features = sq.extract_features(x, model)
    assert sq.extract_features(x, model)[0].shape == features[0].shape
    assert len(sq._FEATURE_MODELS) >= 1 and model in sq._FEATURE_MODELS  # built once, cached
    assert [f.shape[-1] for f in features] == [64, 64, 128, 128, 128, 256, 256, 256,
                                               384, 384, 512, 512]
    with torch.no_grad():
        maps = ref.feature_maps(torch_model, _nchw(torch.from_numpy(x)))
    for k, (ours, layer) in enumerate(zip(features, sq.FEATURE_LAYERS)):
        index = int(layer.split("_")[1])
        assert index == k + 1  # course feature k is torchvision features[k + 1]
        desired = interop.nchw_to_nhwc(maps[index].numpy())
        row = parity.compare_arrays(layer, ours.numpy(), desired, parity.TOLERANCES["float64"])
        assert row.ok, parity.format_table([parity.ParityReport("features", "float64", [row])])


def test_sizes_known_only_at_run_time(models):
    model = models["float32"][0]
    graph = tf.function(model, input_signature=[tf.TensorSpec((None, None, None, 3))])
    x = np.random.default_rng(SEED).standard_normal((2, 65, 97, 3)).astype(np.float32)
    np.testing.assert_allclose(graph(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\b17x17\b(.|\n)*\b16 40\b"):
        graph(np.zeros((1, 16, 40, 3), np.float32))


def test_too_small_image_raises_value_error(models):
    model = models["float32"][0]
    with pytest.raises(ValueError, match=r"\b17x17\b.*\b16x40\b"):
        model(np.zeros((1, 16, 40, 3), np.float32))
    with pytest.raises(ValueError, match=r"\b17x17\b.*\b224x12\b"):
        sq.SqueezeNet(input_shape=(224, 12, 3))
    with pytest.raises(RuntimeError):  # torch agrees that 16 is too small
        ref.SqueezeNet()(torch.zeros(1, 3, 16, 40))
    assert model(np.zeros((1, 17, 17, 3), np.float32)).shape == (1, 1000)


# ----------------------------------------------------------------------------- images


def test_preprocess_deprocess_round_trip():
    rng = np.random.default_rng(SEED)
    for shape in [(9, 7, 3), (2, 9, 7, 3)]:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        x = sq.preprocess_image(img)
        assert x.dtype == np.float32 and x.shape == shape
        np.testing.assert_array_equal(sq.deprocess_image(x), img)
        np.testing.assert_array_equal(sq.preprocess_image(img.astype(np.float64)), x)
    mean_pixel = (255 * sq.SQUEEZENET_MEAN).reshape(1, 1, 3)
    np.testing.assert_allclose(sq.preprocess_image(mean_pixel), 0, atol=1e-6)
    stretched = sq.deprocess_image(rng.standard_normal((5, 6, 3)), rescale=True)
    assert stretched.min() == 0 and stretched.max() == 255
    with pytest.raises(ValueError, match=r"\bshape\b.*\(9, 7\)"):
        sq.preprocess_image(np.zeros((9, 7)))
