"""tfcs231n.interop: the layout adapters, and the one loader of torchvision state dicts.

Each architecture's state dict is made by its torchref module (torchvision's module tree,
so torchvision's keys), saved to a .pth and also passed in memory, whole and (where
torchvision users write ``model.features.state_dict()``) features-only; the Keras model
loaded through ``weights=`` must then compute what the torch model computes.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from torch import nn

from tfcs231n import interop
from tfcs231n.parity import engine as parity
from tfcs231n.style import backbones
from tfcs231n.vision.resnet import ResNet18
from tfcs231n.visualization import squeezenet as sq
from torchref import resnet as ref_resnet
from torchref import squeezenet as ref_squeezenet
from torchref import style_transfer as ref_style

TOL = parity.TOLERANCES["float32"]
CLASSES = 10
SIZE = 33  # odd: SqueezeNet's ceil-mode pools pad, VGG's floor pools drop a row


def _assert_close(name, actual, desired):
    row = parity.compare_arrays(name, np.asarray(actual), np.asarray(desired), TOL)
    assert row.ok, (f"{name}: max abs {row.max_abs:.2e}, max rel {row.max_rel:.2e}\n"
                    + parity.format_table([parity.ParityReport(name, "float32", [row])]))


def _images(seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, (2, SIZE, SIZE, 3)).astype(np.float32)


def _nchw(x):
    return torch.from_numpy(interop.nhwc_to_nchw(x))


def _he_normal(module, seed):
    """He-normal convs, small random biases: activations keep their scale through a VGG
    (PyTorch's default init shrinks them until any two outputs agree)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator)
                               * (2.0 / fan_in) ** 0.5)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=generator))
    return module


class TorchvisionVGG(nn.Module):
    """torchvision's VGG module tree (features, avgpool, classifier.{0,3,6}) around
    torchref's features; the classifier is narrow (16 wide) to stay small."""

    def __init__(self, cfg, hidden=16):
        super().__init__()
        self.features = ref_style.vgg_features(cfg)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(), nn.Linear(hidden, CLASSES))


# ----------------------------------------------------------------------------- architectures
# Each: build(seed) -> torch model in eval mode; keras(weights) -> Keras model or backbone;
# outputs(keras, torch, features_only) -> [(name, actual, desired)].


def _squeezenet_torch(seed):
    state = ref_squeezenet.random_state_dict(CLASSES, seed=seed)
    return ref_squeezenet.load_arrays(ref_squeezenet.SqueezeNet(CLASSES).float(), state).eval()


def _squeezenet_outputs(model, torch_model, features_only):
    x = _images()
    with torch.no_grad():
        maps = ref_squeezenet.feature_maps(torch_model, _nchw(x))
        scores = torch_model(_nchw(x)).numpy()
    out = [("features.12", sq.extract_features(x, model)[-1],
            interop.nchw_to_nhwc(maps[-1].numpy()))]
    if not features_only:  # a features-only dict leaves the classifier at its init
        out.append(("scores", model(x), scores))
    return out


def _resnet_torch(seed):
    state = ref_resnet.random_state_dict(CLASSES, width=8, seed=seed)
    return ref_resnet.load_arrays(ref_resnet.ResNet18(CLASSES, width=8), state).eval()


def _resnet_outputs(model, torch_model, features_only):
    x = _images()
    with torch.no_grad():
        logits = torch_model(_nchw(x)).numpy()
    return [("logits", model(x, training=False), logits)]


def _vgg_torch(cfg):
    def build(seed):
        return _he_normal(TorchvisionVGG(cfg), seed).eval()
    return build


def _vgg_outputs(backbone, torch_model, features_only):
    image = _images(low=0.0, high=1.0)  # the backbone's variable space: RGB in [0, 1]
    layers = (0, 3, backbone.num_layers - 2, backbone.num_layers - 1)  # conv, relu, last two
    actual = backbone.features(tf.constant(image), layers)
    with torch.no_grad():
        x = ref_style.network_input(_nchw(image), "torch")
        desired = ref_style.sequential_maps(torch_model.features, x, layers)
    return [(f"features.{i}", a, interop.nchw_to_nhwc(desired[i].numpy()))
            for i, a in zip(layers, actual)]


ARCHS = {
    "squeezenet1_1": (_squeezenet_torch, lambda w: sq.SqueezeNet(CLASSES, weights=w),
                      _squeezenet_outputs, True),
    "resnet18": (_resnet_torch, lambda w: ResNet18(CLASSES, width=8, weights=w),
                 _resnet_outputs, False),
    "vgg16": (_vgg_torch(ref_style.VGG16_CFG),
              lambda w: backbones.get_backbone("vgg16", weights=w), _vgg_outputs, True),
    "vgg19": (_vgg_torch(ref_style.VGG19_CFG),
              lambda w: backbones.get_backbone("vgg19", weights=w), _vgg_outputs, True),
}
FORMS = [(arch, part, where) for arch, (*_, has_features) in ARCHS.items()
         for part in (("whole", "features") if has_features else ("whole",))
         for where in ("pth", "memory")]


def _state(torch_model, part):
    """torchvision's two ways to save: the model's state dict, or its features' only."""
    return (torch_model if part == "whole" else torch_model.features).state_dict()


@pytest.mark.parametrize("arch,part,where", FORMS, ids=["-".join(f) for f in FORMS])
def test_torchvision_state_dicts_load_through_weights(arch, part, where, tmp_path):
    build, keras_model, outputs, _ = ARCHS[arch]
    torch_model = build(seed=3)
    state = _state(torch_model, part)
    if part == "features":
        assert "0.weight" in state  # the layout the loader must recognise
    if where == "pth":
        torch.save(state, tmp_path / f"{arch}.pth")
        state = tmp_path / f"{arch}.pth"
    model = keras_model(state)
    for name, actual, desired in outputs(model, torch_model, part == "features"):
        _assert_close(f"{arch} {part} {where}: {name}", actual, desired)


def _first(state, suffix):
    return next(k for k in state if k.endswith(suffix))


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("fault", ["missing", "unexpected", "misshapen"])
def test_a_wrong_state_dict_fails_naming_the_key(arch, fault, tmp_path):
    build, keras_model, _, _ = ARCHS[arch]
    state = {k: v.numpy() for k, v in build(seed=1).state_dict().items()}
    if fault == "missing":
        key = [k for k in state if k.endswith(".weight")][2]
        del state[key]
    elif fault == "unexpected":
        key = "features.99.weight" if arch != "resnet18" else "layer5.0.conv1.weight"
        state[key] = np.zeros((4, 3, 3, 3), np.float32)
    else:
        key = _first(state, "bias")
        state[key] = np.zeros(state[key].shape[0] + 1, np.float32)
    with pytest.raises(ValueError, match=rf"\b{fault} .*{key.replace('.', '[.]')}") as info:
        keras_model(state)
    assert "\n" not in str(info.value)
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=rf"bad\.pth does not fit .*{key.replace('.', '[.]')}"):
        keras_model(tmp_path / "bad.pth")


def test_misshapen_names_expected_and_got_shapes_in_torch_layout():
    state = ref_squeezenet.random_state_dict(CLASSES, seed=0)
    state["features.6.expand3x3.weight"] = np.zeros((128, 32, 1, 1))
    with pytest.raises(ValueError, match=r"features\.6\.expand3x3\.weight "
                                         r"\(features_6/expand3x3/kernel\): "
                                         r"expected \(128, 32, 3, 3\), got \(128, 32, 1, 1\)"):
        sq.SqueezeNet(CLASSES, weights=state)


def test_nothing_is_assigned_unless_everything_fits():
    model = sq.SqueezeNet(CLASSES, weights=ref_squeezenet.random_state_dict(CLASSES, seed=0))
    before = [w.numpy().copy() for w in model.weights]
    other = ref_squeezenet.random_state_dict(CLASSES, seed=1)
    other["classifier.1.bias"] = np.zeros(3)  # the last key: every other one would fit
    targets = sq.torch_targets(model)
    with pytest.raises(ValueError, match=r"classifier\.1\.bias"):
        interop.load_torch_state_dict(other, targets, "SqueezeNet 1.1")
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(w.numpy(), b, err_msg=w.path)


def test_features_only_and_whole_load_the_same_features():
    torch_model = _squeezenet_torch(seed=2)
    whole = sq.SqueezeNet(CLASSES, weights=torch_model.state_dict())
    features = sq.SqueezeNet(CLASSES, weights=torch_model.features.state_dict())
    for a, b in zip(whole.weights, features.weights):
        if a.path.startswith("features"):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    # A features-only dict with a key missing still names it with the model's prefix.
    partial = {k: v for k, v in torch_model.features.state_dict().items() if k != "3.squeeze.bias"}
    with pytest.raises(ValueError, match=r"features-only.*missing features\.3\.squeeze\.bias"):
        sq.SqueezeNet(CLASSES, weights=partial)


def test_half_precision_tensors_and_bad_sources():
    torch_model = _squeezenet_torch(seed=4)
    half = {k: v.to(torch.bfloat16) for k, v in torch_model.state_dict().items()}
    model = sq.SqueezeNet(CLASSES, weights=half)
    np.testing.assert_array_equal(model.get_layer("classifier_1").bias.numpy(),
                                  half["classifier.1.bias"].float().numpy())
    with pytest.raises(ValueError, match=r"\.pth or \.pt.*vgg16\.npz"):
        backbones.get_backbone("vgg16", weights="vgg16.npz")
    with pytest.raises(ValueError, match="got int"):
        ResNet18(CLASSES, width=8, weights=3)


def test_vgg_backbones_name_their_formats():
    with pytest.raises(ValueError, match=r"vgg16 backbone needs weights"):
        backbones.get_backbone("vgg16")
    # The case: a torchvision VGG-16 file given to the offline backbone.
    with pytest.raises(ValueError, match=r"get_backbone\('vgg16', weights=\.\.\.\)"):
        backbones.get_backbone("vgg16-hed", weights="vgg16-397923af.pth")
    state = _vgg_torch(ref_style.VGG16_CFG)(seed=0).state_dict()
    backbone = backbones.get_backbone("vgg16", weights=state)
    assert (backbone.name, backbone.transform, backbone.num_layers) == ("vgg16", "torch", 31)
    with pytest.raises(ValueError, match=r"missing features\.16\.weight"):  # VGG-16 as VGG-19
        backbones.get_backbone("vgg19", weights=state)


# ----------------------------------------------------------------------------- layouts
# Every dimension differs, so a swapped axis changes the numbers instead of passing.


@pytest.mark.parametrize("layout,keras_shape", [("conv", (3, 5, 2, 7)), ("dense", (5, 3)),
                                                ("same", (4,))])
def test_torch_shape_is_the_shape_the_adapter_takes(layout, keras_shape):
    to_keras = interop.LAYOUTS[layout][0]
    torch_shape = interop.torch_shape(keras_shape, layout)
    assert to_keras(np.zeros(torch_shape)).shape == keras_shape


def test_dense_adapter():
    rng = np.random.default_rng(0)
    lin = torch.nn.Linear(5, 3, dtype=torch.float64)
    x = rng.standard_normal((2, 5))
    kernel = interop.dense_torch_to_keras(lin.weight.detach().numpy())
    np.testing.assert_allclose(x @ kernel + lin.bias.detach().numpy(),
                               lin(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(interop.dense_keras_to_torch(kernel), lin.weight.detach().numpy())


def test_conv_and_layout_adapters():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((7, 2, 3, 5))  # (out, in, kh, kw)
    x = rng.standard_normal((1, 2, 11, 13))  # NCHW
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    got = tf.nn.conv2d(interop.nchw_to_nhwc(x), interop.conv_torch_to_keras(w), 1, "VALID")
    np.testing.assert_allclose(interop.nhwc_to_nchw(got.numpy()), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(interop.conv_keras_to_torch(interop.conv_torch_to_keras(w)), w)


def test_conv_transpose_adapter_4x4_stride2():
    # Keras 'same' equals torch padding=1 for a 4x4 stride-2 transposed convolution (DCGAN).
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 5, 4, 4))  # torch ConvTranspose2d: (in, out, kh, kw)
    x = rng.standard_normal((2, 3, 6, 7))
    expected = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1).numpy()
    layer = keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same", use_bias=False,
                                         dtype="float64")
    layer.build((None, 6, 7, 3))
    layer.kernel.assign(interop.conv_transpose_torch_to_keras(w))
    got = interop.nhwc_to_nchw(layer(interop.nchw_to_nhwc(x)).numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_gate_reordering_between_course_torch_and_keras():
    from tfcs231n.captioning import ops

    rng = np.random.default_rng(3)
    N, D, H = 2, 3, 5
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    want_h, want_c = (t.numpy() for t in ops.lstm_step(x, h, c, Wx, Wh, b))

    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(interop.reorder_gates(Wx, "course", "torch").T))
        cell.weight_hh.copy_(torch.from_numpy(interop.reorder_gates(Wh, "course", "torch").T))
        cell.bias_ih.copy_(torch.from_numpy(interop.reorder_gates(b, "course", "torch")))
        cell.bias_hh.zero_()
    th, tc = cell(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
    np.testing.assert_allclose(th.detach().numpy(), want_h, rtol=1e-12)
    np.testing.assert_allclose(tc.detach().numpy(), want_c, rtol=1e-12)

    kcell = keras.layers.LSTMCell(H, unit_forget_bias=False, dtype="float64")
    kcell.build((N, D))
    kcell.set_weights([interop.reorder_gates(w, "course", "keras") for w in (Wx, Wh, b)])
    kh, (_, kc) = kcell(x, [h, c])
    np.testing.assert_allclose(kh.numpy(), want_h, rtol=1e-12)
    np.testing.assert_allclose(kc.numpy(), want_c, rtol=1e-12)
    back = interop.reorder_gates(interop.reorder_gates(Wx, "course", "torch"), "torch", "course")
    np.testing.assert_array_equal(back, Wx)
    with pytest.raises(ValueError, match="unknown gate order 'tf'"):
        interop.reorder_gates(Wx, "course", "tf")
