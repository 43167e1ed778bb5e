"""Style transfer against torchref.style_transfer: each loss, the losses through a whole
backbone with copied weights, and five optimisation steps."""

import numpy as np
import pytest
import tensorflow as tf
import torch

from torchref import squeezenet as ref_squeezenet
from torchref import style_transfer as ref

from parity_helpers import parity_params
from tfcs231n.parity import engine as parity
from tfcs231n import interop
from tfcs231n.style import backbones as style_backbones
from tfcs231n.style import optimize as st

from tfcs231n.style import losses as style_losses


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@parity_params("style_transfer")
def test_each_loss_and_its_gradients_match_pytorch(case, shape_index, dtype):
    parity.assert_parity(case.run(dtype, seed=shape_index))


# ----------------------------------------------------------------------------- backbones
# (name, loss form, content layer, style layers, style weights, tv weight, image size)
SETUPS = {
    # The offline default with its bundled (trained) weights; post-ReLU layers.
    "vgg16-hed": ("tf-tutorial", 20, (1, 6, 11, 18, 25), (2.0, 2.0, 2.0, 2.0, 2.0), 1.0,
                  (32, 40)),
    # d2l's form on pre-ReLU VGG-16 conv layers: content conv4_2, style conv1_1 .. conv4_1.
    "vgg16-hed-d2l": ("d2l", 19, (0, 5, 10, 17), (1e3, 1e3, 1e3, 1e3), 10.0, (32, 40)),
    # The course's layers and weights (its first example run), random SqueezeNet weights.
    "squeezenet": ("course", 2, (0, 3, 5, 6), (20000.0, 500.0, 12.0, 1.0), 5e-2, (48, 56)),
}
_FORMS = {"course": ("sum", "hwc", "squared_sum"), "d2l": ("mean", "hwc", "abs_mean"),
          "tf-tutorial": ("mean", "hw", "abs_sum")}


def _backbones(name, dtype):
    """The TF backbone and (torch maps_fn, transform) with the same weights."""
    if name.startswith("vgg16-hed"):
        tf_bb = style_backbones.vgg16_hed(dtype)
        model = ref.vgg_features(ref.VGG16_CFG)
        pairs = style_backbones.read_hed_weights()
        ref.load_conv_pairs(model, [(interop.conv_keras_to_torch(k), b) for k, b in pairs])
        model = model.to(getattr(torch, dtype))
        return tf_bb, (lambda x, layers: ref.sequential_maps(model, x, layers)), "caffe"
    state = ref_squeezenet.random_state_dict(1000, seed=3)
    tf_bb = style_backbones.squeezenet(state, dtype)
    # Cast before loading: loading float64 arrays into float32 parameters would round them.
    model = ref_squeezenet.SqueezeNet(1000).to(getattr(torch, dtype))
    model = ref_squeezenet.load_arrays(model, state).eval()

    def maps(x, layers):  # course index k is torchvision features[k + 1]
        feats = ref_squeezenet.feature_maps(model, x)
        return {k: feats[k + 1] for k in layers}
    return tf_bb, maps, "course"


def _images(name, size, dtype, seed=0):
    rng = np.random.default_rng(seed)
    low, high = (-1.5, 1.5) if name == "squeezenet" else (0.0, 1.0)
    content, style, start = (rng.uniform(low, high, (1, *size, 3)).astype(dtype)
                             for _ in range(3))
    return content, style, start


def _losses(name, dtype):
    form, cl, sl, sw, tv, size = SETUPS[name]
    tf_bb, maps, transform = _backbones(name, dtype)
    content, style, start = _images(name, size, dtype)
    tf_losses = style_losses.StyleLosses(tf_bb, tf.constant(content), tf.constant(style), cl, 0.7, sl,
                               sw, tv, form)
    ref_losses = ref.StyleLosses(maps, transform, ref_nchw(content), ref_nchw(style), cl, 0.7,
                                 sl, sw, tv, *_FORMS[form])
    return tf_losses, ref_losses, start, tf_bb.clip


def ref_nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(SETUPS))
def test_losses_through_backbone_and_image_gradient_match_pytorch(name, dtype):
    tf_losses, ref_losses, start, _ = _losses(name, dtype)
    keys = ("content", "style", "tv")

    def tf_fn(image):
        values = tf_losses(image)
        return tuple(values[k] for k in keys)

    def torch_fn(image):
        values = ref_losses(image.permute(0, 3, 1, 2))
        return tuple(values[k] for k in keys)

    report = parity.compare(f"style_losses[{name}]", tf_fn, parity.torch_reference(torch_fn),
                            {"image": start.astype(np.float64)}, wrt=["image"], dtype=dtype,
                            output_names=keys)
    parity.assert_parity(report)
    # The losses are not trivially zero: the comparison has something to compare.
    assert all(abs(r.desired) > 0 or r.tensor == "dimage" for r in report.rows)


# Keras 3 turns Python-float hyper-parameters into float32 scalars before they meet a float64
# variable (measured: beta_1=0.99, beta_2=0.999 move a float64 Adam step by 5.5e-6 relative,
# while 0.5 / 0.75 move it by the float32 rounding of lr alone). float32 runs the offline
# preset's Adam (eps 0.1, where Keras's and torch's Adam differ); float64 runs values that
# are exact in float32, so the comparison is at the float64 tolerance. Both decay at step 3.
ADAM = {"float32": dict(learning_rate=0.05, decayed_lr=0.01, beta_1=0.99, beta_2=0.999,
                        epsilon=0.1),
        "float64": dict(learning_rate=0.0625, decayed_lr=0.015625, beta_1=0.5, beta_2=0.75,
                        epsilon=0.125)}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["vgg16-hed", "squeezenet"])
def test_five_adam_steps_with_decay_and_clip_give_the_same_image(name, dtype):
    tf_losses, ref_losses, start, clip = _losses(name, dtype)
    hp = ADAM[dtype]
    config = st.StyleConfig(decay_lr_at=3, num_iterations=5, **hp)
    image = tf.Variable(start)
    history, steps, interrupted = st.optimize(tf_losses, image, config, clip)
    assert steps == 5 and not interrupted
    ref_image, ref_history = ref.adam_steps(ref_losses, ref_nchw(start), 5, hp["learning_rate"],
                                            hp["decayed_lr"], 3, clip, hp["beta_1"],
                                            hp["beta_2"], hp["epsilon"])
    tol = parity.TOLERANCES[dtype]
    rows = [parity.compare_arrays("image", image.numpy(),
                                  ref_image.numpy().transpose(0, 2, 3, 1), tol)]
    for key in ("content", "style", "tv", "total"):
        rows.append(parity.compare_arrays(key, history[key], [h[key] for h in ref_history], tol))
    parity.assert_parity(parity.ParityReport(f"adam5[{name}]", dtype, rows))
    assert not np.allclose(image.numpy(), start)  # the steps moved the image
    assert history["total"][-1] < history["total"][0]
