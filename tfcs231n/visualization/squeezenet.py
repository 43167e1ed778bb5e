"""SqueezeNet 1.1 in Keras (NHWC), numerically identical to torchvision's `squeezenet1_1`.

The network of the course's network-visualization and style-transfer notebooks. Layer names
follow torchvision's module indices, so every state-dict key maps to one Keras weight:

    Keras layer        torchvision module   what                          output (224x224 in)
    features_0         features.0           Conv2D 64, 3x3, stride 2       (111, 111, 64)
    features_1         features.1           ReLU                           (111, 111, 64)
    features_2         features.2           CeilMaxPool2D 3, stride 2      (55, 55, 64)
    features_3, _4     features.3, .4       Fire(16, 64, 64)               (55, 55, 128)
    features_5         features.5           CeilMaxPool2D                  (27, 27, 128)
    features_6, _7     features.6, .7       Fire(32, 128, 128)             (27, 27, 256)
    features_8         features.8           CeilMaxPool2D                  (13, 13, 256)
    features_9, _10    features.9, .10      Fire(48, 192, 192)             (13, 13, 384)
    features_11, _12   features.11, .12     Fire(64, 256, 256)             (13, 13, 512)
    classifier_0       classifier.0         Dropout                        (13, 13, 512)
    classifier_1       classifier.1         Conv2D num_classes, 1x1        (13, 13, C)
    classifier_2       classifier.2         ReLU                           (13, 13, C)
    classifier_3       classifier.3         GlobalAveragePooling2D         (C,)

Weights (`torch_targets`): ``features.{i}.weight`` -> ``features_{i}`` kernel,
``features.{i}.squeeze.weight`` -> the Fire layer's ``squeeze`` kernel (likewise
``expand1x1``, ``expand3x3``), and ``classifier.1.*`` -> ``classifier_1``; torch kernels
(out, in, kh, kw) become Keras (kh, kw, in, out). One extra layer, ``input_size_check``,
sits after the input: it holds no weights and rejects images smaller than `MIN_INPUT_SIZE`.

The model outputs unnormalised class scores (N, C), as the course's SqueezeNet does. Unlike
the course's TF port, which max-pools with 'VALID' (floor) windows and averages a fixed
13x13 map, pooling here matches PyTorch at every input size, not only at 224x224.

Loading and converting weights: `SqueezeNet(weights=...)`, `convert_squeezenet`; PyTorch
state dicts go through `tfcs231n.interop.load_torch_state_dict`. The course's checkpoints
and downloads: `tfcs231n.visualization.weights`.

Example:
    >>> model = SqueezeNet(weights=download_squeezenet())   # torchvision's ImageNet weights
    >>> scores = model(preprocess_image(images))            # (N, 1000)
    >>> feats = extract_features(preprocess_image(images), model)   # 12 feature maps
"""

import numbers
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfcs231n.interop import conv_keras_to_torch, load_torch_state_dict, read_torch_state_dict
from tfcs231n.visualization.weights import read_course_checkpoint

_register = keras.saving.register_keras_serializable(package="tfcs231n")

NUM_CLASSES = 1000
# Smallest height and width: 17 -> conv 8 -> pools 4, 2, 1; at 16 the last pool gets a 1x1
# map and PyTorch's ceil-mode rule leaves it no window (torchvision documents 17x17 too).
MIN_INPUT_SIZE = 17

# ImageNet statistics the course (and torchvision) normalise with, RGB order.
SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

# torchvision features index -> (squeeze, expand1x1, expand3x3) of each Fire module.
FIRE_PLANES = {
    3: (16, 64, 64), 4: (16, 64, 64), 6: (32, 128, 128), 7: (32, 128, 128),
    9: (48, 192, 192), 10: (48, 192, 192), 11: (64, 256, 256), 12: (64, 256, 256),
}
POOL_INDICES = (2, 5, 8)

# The course's `extract_features` walks `model.net.layers[:-2]`: conv (ReLU fused), pool,
# fire, fire, pool, fire, fire, pool, fire x4. torchvision keeps the ReLU as its own module,
# so course feature k is torchvision `features[k + 1]`, i.e. Keras layer features_{k+1}.
FEATURE_LAYERS = tuple(f"features_{i}" for i in range(1, 13))


def _positive_int(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# ----------------------------------------------------------------------------- layers


@_register
class Fire(keras.layers.Layer):
    """SqueezeNet's Fire module: squeeze 1x1 conv + ReLU, then two expand convs on its output.

    Output channels are [expand1x1 + ReLU, expand3x3 ('same', i.e. pad 1) + ReLU], in that
    order, as torchvision concatenates them.

    Args:
        squeeze_planes: channels of the 1x1 squeeze convolution.
        expand1x1_planes: channels of the 1x1 expand convolution.
        expand3x3_planes: channels of the 3x3 expand convolution.

    Call arguments:
        x: (batch, height, width, channels).

    Returns:
        (batch, height, width, expand1x1_planes + expand3x3_planes).

    Example:
        >>> Fire(16, 64, 64)(tf.zeros((2, 55, 55, 64))).shape
        TensorShape([2, 55, 55, 128])
    """

    def __init__(self, squeeze_planes, expand1x1_planes, expand3x3_planes, **kwargs):
        super().__init__(**kwargs)
        self.squeeze_planes = _positive_int("squeeze_planes", squeeze_planes)
        self.expand1x1_planes = _positive_int("expand1x1_planes", expand1x1_planes)
        self.expand3x3_planes = _positive_int("expand3x3_planes", expand3x3_planes)
        conv = dict(activation="relu", dtype=self.dtype_policy)
        self.squeeze = keras.layers.Conv2D(squeeze_planes, 1, name="squeeze", **conv)
        self.expand1x1 = keras.layers.Conv2D(expand1x1_planes, 1, name="expand1x1", **conv)
        self.expand3x3 = keras.layers.Conv2D(
            expand3x3_planes, 3, padding="same", name="expand3x3", **conv
        )

    def build(self, input_shape):
        self.squeeze.build(input_shape)
        squeezed = (*input_shape[:-1], self.squeeze_planes)
        self.expand1x1.build(squeezed)
        self.expand3x3.build(squeezed)

    def call(self, x):
        s = self.squeeze(x)  # (N, H, W, S)
        return tf.concat([self.expand1x1(s), self.expand3x3(s)], axis=-1)  # (N, H, W, E1+E3)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.expand1x1_planes + self.expand3x3_planes)

    def get_config(self):
        return {
            **super().get_config(),
            "squeeze_planes": self.squeeze_planes,
            "expand1x1_planes": self.expand1x1_planes,
            "expand3x3_planes": self.expand3x3_planes,
        }


def ceil_pool_output_size(size, pool_size, strides):
    """PyTorch's output length for a max pool with ``ceil_mode=True`` and no padding.

    ceil((size - pool_size) / strides) + 1, minus one if the last window would start at or
    past the end of the input (PyTorch drops such a window). Works on Python ints and on
    int32 tensors (for sizes unknown until run time). A result below 1 means no window fits.
    """
    out = (size - pool_size + strides - 1) // strides + 1
    starts_outside = (out - 1) * strides >= size
    if isinstance(out, int):
        return out - int(starts_outside)
    return out - tf.cast(starts_outside, out.dtype)


@_register
class CeilMaxPool2D(keras.layers.Layer):
    """Max pooling sized like PyTorch's ``MaxPool2d(pool_size, strides, ceil_mode=True)``.

    The input is padded at the bottom and right with -inf by exactly as many rows and columns
    as the last ceil-mode window overhangs, then pooled with 'VALID' windows. Like PyTorch,
    no window starts past the input, so every window holds a real value, the padding never
    wins, and gradients match PyTorch's.

    Args:
        pool_size: window height and width.
        strides: step between windows.

    Call arguments:
        x: (batch, height, width, channels).

    Returns:
        (batch, ceil_pool_output_size(height), ceil_pool_output_size(width), channels).
    """

    def __init__(self, pool_size=3, strides=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _positive_int("pool_size", pool_size)
        self.strides = _positive_int("strides", strides)

    def _output_size(self, size):
        return ceil_pool_output_size(size, self.pool_size, self.strides)

    def call(self, x):
        k, s = self.pool_size, self.strides
        dynamic = tf.shape(x)
        pads = []
        for axis in (1, 2):
            size = x.shape[axis] if x.shape[axis] is not None else dynamic[axis]
            if isinstance(size, int) and self._output_size(size) < 1:
                raise ValueError(
                    f"{self.name}: a {k}x{k} ceil-mode max pool with stride {s} needs at least "
                    f"{k - s + 1} rows and columns, got a {x.shape[1]}x{x.shape[2]} feature map"
                )
            # Negative only when strides > pool_size leaves trailing input unused: no pad.
            overhang = (self._output_size(size) - 1) * s + k - size
            pads.append(max(overhang, 0) if isinstance(overhang, int)
                        else tf.maximum(overhang, 0))
        x = tf.pad(x, [[0, 0], [0, pads[0]], [0, pads[1]], [0, 0]],
                   constant_values=tf.constant(-np.inf, x.dtype))
        return tf.nn.max_pool2d(x, k, s, "VALID")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        h, w = (None if d is None else self._output_size(d) for d in (h, w))
        return (n, h, w, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides}


@_register
class InputSizeCheck(keras.layers.Layer):
    """Passes images through unchanged; rejects any smaller than `min_size` x `min_size`.

    Raises ValueError when the size is known (eagerly, or when a function is traced for a
    fixed size); for sizes known only at run time a TF assertion raises InvalidArgumentError.
    """

    def __init__(self, min_size, **kwargs):
        super().__init__(**kwargs)
        self.min_size = _positive_int("min_size", min_size)

    def _message(self, h=None, w=None):
        got = f", got {h}x{w}" if h is not None else " (x below: height, width)"
        size = f"{self.min_size}x{self.min_size}"
        return f"SqueezeNet 1.1 needs images of at least {size} pixels{got}"

    def _check_static(self, shape):
        """Raises for a known size that is too small; True when both sizes are known."""
        h, w = shape[1], shape[2]
        if any(d is not None and d < self.min_size for d in (h, w)):
            raise ValueError(self._message(h, w))
        return None not in (h, w)

    def call(self, x):
        if self._check_static(x.shape):
            return x
        size = tf.shape(x)[1:3]
        check = tf.debugging.assert_greater_equal(
            size, self.min_size, message=self._message()
        )
        with tf.control_dependencies([check]):
            return tf.identity(x)

    def compute_output_shape(self, input_shape):
        self._check_static(input_shape)  # a model built for a fixed size fails at once
        return input_shape

    def get_config(self):
        return {**super().get_config(), "min_size": self.min_size}


# ----------------------------------------------------------------------------- model


def SqueezeNet(num_classes=NUM_CLASSES, weights=None, dropout=0.5, input_shape=(None, None, 3),
               name="squeezenet", dtype=None, classifier_activation="relu"):
    """torchvision's SqueezeNet 1.1 as a Keras functional model: images -> class scores.

    Args:
        num_classes: size of the score vector.
        weights: None (random init); a torchvision state dict, whole
            (``model.state_dict()``) or features-only (``model.features.state_dict()``, the
            classifier then keeps its init), as a ``.pth``/``.pt`` path or in memory
            (tensors or NumPy arrays, torch layout); the course's TF checkpoint (the
            ``squeezenet.ckpt`` prefix, its ``.index`` or folder); or a ``.weights.h5``
            written by this package (`convert_squeezenet`, ``model.save_weights``). With a
            num_classes other than 1000, a classifier of another size is skipped and keeps
            its fresh init (fine-tuning); every other weight must load. A wrong file raises
            one ValueError naming each missing, unexpected and misshapen key.
        dropout: drop rate before the classifier (training only, as in torchvision).
        input_shape: (height, width, 3); sizes may be None. At least `MIN_INPUT_SIZE`.
        name: the model's name.
        dtype: dtype policy of every layer ("float64" for parity checks); default global.
        classifier_activation: "relu" (torchvision's) or None (linear scores, as the
            `classifier_activation` of keras.applications). Trained with the ReLU, every
            class but the winner tends to score exactly 0, where its gradient is 0 too: the
            offline synthetic classifier uses None so gradient techniques have a signal.

    Returns:
        A `keras.Model`: (batch, height, width, 3) preprocessed images -> (batch, num_classes)
        unnormalised scores. Layers are named as in the module docstring.
    """
    num_classes = _positive_int("num_classes", num_classes)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[2] != 3:
        raise ValueError(f"input_shape must be (height, width, 3), got {input_shape}")
    policy = keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()
    layer = dict(dtype=policy)

    images = keras.Input(input_shape, dtype=policy.variable_dtype, name="image")
    x = InputSizeCheck(MIN_INPUT_SIZE, name="input_size_check", **layer)(images)
    x = keras.layers.Conv2D(64, 3, strides=2, name="features_0", **layer)(x)
    x = keras.layers.ReLU(name="features_1", **layer)(x)
    for index in range(2, 13):
        if index in POOL_INDICES:
            x = CeilMaxPool2D(3, 2, name=f"features_{index}", **layer)(x)
        else:
            x = Fire(*FIRE_PLANES[index], name=f"features_{index}", **layer)(x)
    x = keras.layers.Dropout(dropout, name="classifier_0", **layer)(x)
    x = keras.layers.Conv2D(num_classes, 1, name="classifier_1", **layer)(x)
    if classifier_activation == "relu":
        x = keras.layers.ReLU(name="classifier_2", **layer)(x)
    elif classifier_activation is not None:
        raise ValueError(f"classifier_activation must be 'relu' or None, got "
                         f"{classifier_activation!r}")
    scores = keras.layers.GlobalAveragePooling2D(name="classifier_3", **layer)(x)
    model = keras.Model(images, scores, name=name)
    if weights is not None:
        _load_weights(model, weights)
    return model


# ----------------------------------------------------------------------------- weights


def _convs(model):
    """torchvision key prefix -> Keras Conv2D, for every convolution of `model`."""
    convs = {"features.0": model.get_layer("features_0")}
    for index in FIRE_PLANES:
        fire = model.get_layer(f"features_{index}")
        for part in ("squeeze", "expand1x1", "expand3x3"):
            convs[f"features.{index}.{part}"] = getattr(fire, part)
    convs["classifier.1"] = model.get_layer("classifier_1")
    return convs


def torch_targets(model):
    """torchvision key -> (Keras variable, layout) for every weight of a `SqueezeNet` model."""
    targets = {}
    for prefix, conv in _convs(model).items():
        targets[f"{prefix}.weight"] = (conv.kernel, "conv")
        targets[f"{prefix}.bias"] = (conv.bias, "same")
    return targets


def squeezenet_state_dict(model):
    """A `SqueezeNet` model's weights under torchvision's keys, in torch layout (NumPy).

    The inverse of loading: ``torch_model.load_state_dict({k: torch.from_numpy(v) ...})``
    takes the result, e.g. to move a model fine-tuned here back to PyTorch.
    """
    state = {}
    for prefix, conv in _convs(model).items():
        state[f"{prefix}.weight"] = conv_keras_to_torch(keras.ops.convert_to_numpy(conv.kernel))
        state[f"{prefix}.bias"] = keras.ops.convert_to_numpy(conv.bias)
    return state


def _read_keras_h5(path):
    """Loads a `.weights.h5` through Keras into a fresh model of the file's class count."""
    import h5py

    classes = NUM_CLASSES
    try:
        f = h5py.File(path, "r")
    except OSError as e:  # h5py's message does not name the file
        raise ValueError(f"{path} is not a SqueezeNet 1.1 .weights.h5: not an HDF5 file "
                         f"({e})") from e
    with f:
        # The only top-level 1x1 kernel reading 512 channels is the classifier's (Fire
        # kernels sit one level deeper, under their sublayer).
        for group in f.get("layers", {}).values():
            kernel = group.get("vars/0") if isinstance(group, h5py.Group) else None
            if kernel is not None and kernel.ndim == 4 and kernel.shape[:3] == (1, 1, 512):
                classes = kernel.shape[3]
    donor = SqueezeNet(classes, dtype="float32")
    try:
        with warnings.catch_warnings():
            # Keras only warns when it skips part of a file; a partial load must not pass.
            warnings.filterwarnings("error", category=UserWarning, module=r"keras\.")
            donor.load_weights(path)
    except Exception as e:  # ValueError, KeyError or the warning, in Keras's own words
        raise ValueError(f"{path} is not a SqueezeNet 1.1 .weights.h5: {e}") from e
    return squeezenet_state_dict(donor)


def read_squeezenet_weights(path):
    """Reads any supported weights file into ``{torchvision key: array in torch layout}``.

    `.pth`/`.pt`: torchvision state dict (needs torch); `.h5`: a `.weights.h5` of this
    package; anything else: a course TF checkpoint (prefix, `.index` file, or its folder).
    """
    name = Path(path).name.lower()
    if name.endswith((".pth", ".pt")):
        return read_torch_state_dict(path)
    if name.endswith(".h5"):
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such weights file: {path}")
        return _read_keras_h5(path)
    return read_course_checkpoint(path)


def _load_weights(model, weights):
    """Loads any supported `weights` (see `SqueezeNet`) into `model`, checking them first."""
    name = None
    if not isinstance(weights, Mapping):
        weights, name = read_squeezenet_weights(weights), str(weights)
    # Another class count than ImageNet's: a head of another size keeps its fresh init.
    head = () if model.get_layer("classifier_1").filters == NUM_CLASSES else (
        "classifier.1.weight", "classifier.1.bias")
    load_torch_state_dict(weights, torch_targets(model), "SqueezeNet 1.1", name=name,
                          optional=head)


def convert_squeezenet(src, dst):
    """Converts any supported weights file to a Keras `.weights.h5` (no torch needed to read it).

    The class count is taken from the source, so a fine-tuned classifier converts too.

    Returns:
        `dst` as a Path.
    """
    dst = Path(dst)
    if not dst.name.endswith(".weights.h5"):
        raise ValueError(f"dst must end in .weights.h5 (Keras's rule), got {dst}")
    state = read_squeezenet_weights(src)
    classes = np.shape(state.get("classifier.1.bias", np.empty(NUM_CLASSES)))[0]
    model = SqueezeNet(classes, dtype="float32")
    load_torch_state_dict(state, torch_targets(model), "SqueezeNet 1.1", name=str(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(dst))
    return dst


_FEATURE_MODELS = weakref.WeakKeyDictionary()  # model -> its 12-output feature model


def extract_features(x, model):
    """The course's 12 intermediate activations of `model` for images `x`, in one forward.

    Order (course index: Keras layer = torchvision ``features`` index, channels):
    0: features_1 ReLU'd conv (64), 1: features_2 pool (64), 2, 3: features_3, 4 fire (128),
    4: features_5 pool (128), 5, 6: features_6, 7 fire (256), 7: features_8 pool (256),
    8, 9: features_9, 10 fire (384), 10, 11: features_11, 12 fire (512).

    Args:
        x: (batch, height, width, 3) preprocessed images (a tensor or variable).
        model: a model built by `SqueezeNet`.

    Returns:
        A list of 12 tensors (batch, h_k, w_k, c_k).
    """
    features = _FEATURE_MODELS.get(model)
    if features is None:
        outputs = [model.get_layer(name).output for name in FEATURE_LAYERS]
        features = keras.Model(model.input, outputs, name=f"{model.name}_features")
        _FEATURE_MODELS[model] = features
    return list(features(x))


# ----------------------------------------------------------------------------- images


def preprocess_image(img):
    """The course's preprocessing: ``(img / 255 - SQUEEZENET_MEAN) / SQUEEZENET_STD``.

    Args:
        img: RGB pixels in [0, 255], uint8 or float, (H, W, 3) or (N, H, W, 3); a NumPy
            array, or a tensor (inside a serving signature, say).

    Returns:
        float32 of the same shape: a NumPy array for array input, a tensor for a tensor.
    """
    if tf.is_tensor(img):
        img = tf.cast(img, tf.float32)
    else:
        img = np.asarray(img).astype(np.float32)
    if len(img.shape) not in (3, 4) or img.shape[-1] != 3:
        raise ValueError(f"img must be (H, W, 3) or (N, H, W, 3) RGB, got shape {img.shape}")
    return (img / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD


def deprocess_image(img, rescale=False):
    """Undoes `preprocess_image` and returns uint8 pixels.

    Args:
        img: preprocessed image(s), (H, W, 3) or (N, H, W, 3).
        rescale: stretch the result to fill [0, 255] (min -> 0, max -> 255), as the course
            does to show gradients and saliency-like images.

    Rounds to the nearest integer where the course truncates, so a preprocessed uint8 image
    comes back exactly.
    """
    img = np.asarray(img, np.float32) * SQUEEZENET_STD + SQUEEZENET_MEAN
    if rescale:
        low, high = img.min(), img.max()
        img = (img - low) / max(high - low, np.finfo(np.float32).tiny)
    return np.clip(np.rint(255.0 * img), 0, 255).astype(np.uint8)
