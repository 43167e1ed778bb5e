"""ResNet-18 in Keras (NHWC), numerically identical to torchvision's `resnet18` (d2l 8.6, 14.2).

Layer names follow torchvision's modules, so every state-dict key maps to one weight:

    Keras layer           torchvision            what                            (224 in)
    conv1_pad, conv1      conv1                  pad 3, Conv2D w 7x7/2, no bias  (112, 112, w)
    bn1, relu             bn1, relu              BatchNorm eps 1e-5, ReLU
    maxpool_pad, maxpool  maxpool                pad 1, MaxPool 3x3/2            (56, 56, w)
    layer{s}_{b}          layer{s}.{b}           BasicBlock (s = 1..4, b = 0, 1) (7, 7, 8w)
    avgpool               avgpool                GlobalAveragePooling2D          (8w,)
    fc                    fc                     Dense num_classes               (C,)

with w = `width` (64 in torchvision). Inside a BasicBlock: conv1, bn1, conv2, bn2 and, where
the block changes stride or width, downsample_0 (1x1 conv) and downsample_1 (BN).

Stride-2 padding trap: Keras 'same' pads a stride-2 convolution asymmetrically (nothing on
the top/left at even sizes), PyTorch pads symmetrically; every padded convolution and the
max pool therefore use an explicit ZeroPadding2D and 'valid'. The max pool's zero padding
equals PyTorch's -inf padding because its input is post-ReLU (>= 0): a padded zero never
beats a real value, and where it ties with one the gradient goes to a ReLU'd zero, i.e.
nowhere, in both frameworks.

Batch norm: ``model(x, training=False)`` uses the running statistics (torchvision's
``eval()``); momentum 0.9 is PyTorch's 0.1. One difference that changes no output: PyTorch
updates running_var with the unbiased batch variance, Keras with the biased one.

Example:
    >>> model = ResNet18(weights="resnet18-f37072fd.pth")   # torchvision's ImageNet file
    >>> backbone_and_new_head = ResNet18(num_classes=2, weights="resnet18-f37072fd.pth")
"""

import numbers

import keras
import numpy as np

from tfcs231n.interop import conv_keras_to_torch, dense_keras_to_torch, load_torch_state_dict

_register = keras.saving.register_keras_serializable(package="tfcs231n")

NUM_CLASSES = 1000
WIDTH = 64
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9  # PyTorch's momentum=0.1: new = 0.9 * old + 0.1 * batch
STAGES = 4
BLOCKS_PER_STAGE = 2


def _positive_int(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _bn(name, policy):
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name,
                                           dtype=policy)


def _conv(filters, size, stride, name, policy):
    return keras.layers.Conv2D(filters, size, strides=stride, padding="valid", use_bias=False,
                               kernel_initializer="he_normal", name=name, dtype=policy)


@_register
class BasicBlock(keras.layers.Layer):
    """torchvision's BasicBlock: two 3x3 convs with BN, plus an identity or 1x1 shortcut.

    Args:
        planes: output channels.
        stride: stride of the first conv and of the shortcut.
        downsample: use the 1x1 conv + BN shortcut (needed when stride or width change).

    Call arguments:
        x: (batch, height, width, channels); training: BN in batch-statistics mode.

    Returns:
        (batch, ceil(height / stride), ceil(width / stride), planes).
    """

    def __init__(self, planes, stride=1, downsample=False, **kwargs):
        super().__init__(**kwargs)
        self.planes = _positive_int("planes", planes)
        self.stride = _positive_int("stride", stride)
        self.downsample = bool(downsample)
        policy = self.dtype_policy
        self.pad = keras.layers.ZeroPadding2D(1, dtype=policy)
        self.conv1 = _conv(planes, 3, stride, "conv1", policy)
        self.bn1 = _bn("bn1", policy)
        self.conv2 = _conv(planes, 3, 1, "conv2", policy)
        self.bn2 = _bn("bn2", policy)
        if self.downsample:
            self.downsample_0 = _conv(planes, 1, stride, "downsample_0", policy)
            self.downsample_1 = _bn("downsample_1", policy)

    def build(self, input_shape):
        n, h, w, c = input_shape
        self.conv1.build((n, None, None, c))
        out = (n, None, None, self.planes)
        for layer in (self.bn1, self.conv2, self.bn2):
            layer.build(out)
        if self.downsample:
            self.downsample_0.build((n, None, None, c))
            self.downsample_1.build(out)

    def call(self, x, training=None):
        shortcut = x
        if self.downsample:
            shortcut = self.downsample_1(self.downsample_0(x), training=training)
        out = keras.ops.relu(self.bn1(self.conv1(self.pad(x)), training=training))
        out = self.bn2(self.conv2(self.pad(out)), training=training)
        return keras.ops.relu(out + shortcut)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        h, w = (None if d is None else (d - 1) // self.stride + 1 for d in (h, w))
        return (n, h, w, self.planes)

    def get_config(self):
        return {**super().get_config(), "planes": self.planes, "stride": self.stride,
                "downsample": self.downsample}


def ResNet18(num_classes=NUM_CLASSES, width=WIDTH, weights=None, include_top=True,
             input_shape=(None, None, 3), dtype=None, name="resnet18"):
    """torchvision's ResNet-18 as a Keras functional model.

    Args:
        num_classes: logits of the `fc` head.
        width: channels of the first stage (64 in torchvision; stages use w, 2w, 4w, 8w).
        weights: None (He init), or a torchvision ResNet-18 state dict, as a ``.pth``/``.pt``
            path or in memory (tensors or NumPy arrays, torch layout). With a num_classes
            other than 1000, an `fc` of another size is skipped and keeps its fresh init
            (the fine-tuning recipe); include_top=False ignores `fc`. Everything else must
            load; a wrong state dict raises one ValueError naming each missing, unexpected
            and misshapen key.
        include_top: False ends at `avgpool`: (batch, 8 * width) features.
        input_shape: (height, width, 3); None sizes allowed, at least 1 x 1... in practice
            32 x 32 and up (ImageNet weights expect 224).
        dtype: dtype policy for every layer ("float64" for parity checks).

    Returns:
        A `keras.Model`: (batch, H, W, 3) normalised images -> (batch, num_classes) logits.
    """
    num_classes = _positive_int("num_classes", num_classes)
    width = _positive_int("width", width)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[2] != 3:
        raise ValueError(f"input_shape must be (height, width, 3), got {input_shape}")
    policy = keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()
    images = keras.Input(input_shape, dtype=policy.variable_dtype, name="image")
    x = keras.layers.ZeroPadding2D(3, name="conv1_pad", dtype=policy)(images)
    x = _conv(width, 7, 2, "conv1", policy)(x)
    x = keras.layers.ReLU(name="relu", dtype=policy)(_bn("bn1", policy)(x))
    x = keras.layers.ZeroPadding2D(1, name="maxpool_pad", dtype=policy)(x)
    x = keras.layers.MaxPooling2D(3, 2, name="maxpool", dtype=policy)(x)
    inplanes = width
    for s in range(1, STAGES + 1):
        planes = width * 2 ** (s - 1)
        for b in range(BLOCKS_PER_STAGE):
            stride = 2 if s > 1 and b == 0 else 1
            x = BasicBlock(planes, stride, stride != 1 or inplanes != planes,
                           name=f"layer{s}_{b}", dtype=policy)(x)
            inplanes = planes
    x = keras.layers.GlobalAveragePooling2D(name="avgpool", dtype=policy)(x)
    if include_top:
        x = keras.layers.Dense(num_classes, name="fc", dtype=policy)(x)
    model = keras.Model(images, x, name=name)
    if weights is not None:
        head = () if num_classes == NUM_CLASSES else ("fc.weight", "fc.bias")
        load_torch_state_dict(weights, torch_targets(model), "ResNet-18", optional=head,
                              ignore=() if include_top else ("fc.",))
    return model


# ----------------------------------------------------------------------------- weights


def _pairs(model):
    """(torchvision key prefix, Keras layer) for every layer holding weights."""
    pairs = [("conv1", model.get_layer("conv1")), ("bn1", model.get_layer("bn1"))]
    for s in range(1, STAGES + 1):
        for b in range(BLOCKS_PER_STAGE):
            block, prefix = model.get_layer(f"layer{s}_{b}"), f"layer{s}.{b}"
            names = ["conv1", "bn1", "conv2", "bn2"]
            names += ["downsample_0", "downsample_1"] if block.downsample else []
            pairs += [(f"{prefix}.{n.replace('_', '.')}", getattr(block, n)) for n in names]
    if any(layer.name == "fc" for layer in model.layers):
        pairs.append(("fc", model.get_layer("fc")))
    return pairs


_BN_KEYS = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, mean, variance


def _layouts(layer):
    """(torchvision parameter name, layout) of each of `layer.weights`, in order."""
    if isinstance(layer, keras.layers.BatchNormalization):
        return [(k, "same") for k in _BN_KEYS]
    if isinstance(layer, keras.layers.Dense):
        return [("weight", "dense"), ("bias", "same")]
    return [("weight", "conv")]  # convolutions have no bias


def torch_targets(model):
    """torchvision key -> (Keras variable, layout) for every weight of a `ResNet18` model.

    BN weight/bias/running_mean/running_var are gamma/beta/moving_mean/moving_variance;
    ``num_batches_tracked`` has no Keras counterpart.
    """
    return {f"{prefix}.{key}": (variable, layout) for prefix, layer in _pairs(model)
            for (key, layout), variable in zip(_layouts(layer), layer.weights)}


def resnet18_state_dict(model):
    """The inverse of loading: torchvision keys -> NumPy arrays in torch layout."""
    inverse = {"conv": conv_keras_to_torch, "dense": dense_keras_to_torch, "same": np.asarray}
    return {key: inverse[layout](keras.ops.convert_to_numpy(variable))
            for key, (variable, layout) in torch_targets(model).items()}
