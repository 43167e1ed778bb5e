"""SqueezeNet 1.1 weights: torchvision state dicts, the course's TF checkpoints, .weights.h5.

Every reader returns a "state": torchvision key -> NumPy array in torch layout; one function
(`_assign`) checks it against a `tfcs231n.visualization.squeezenet.SqueezeNet` and copies it in. The
layer-name mapping is documented in `tfcs231n.visualization.squeezenet`.
"""

import dataclasses
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import h5py
import keras
import numpy as np
import tensorflow as tf

from tfcs231n.data.download import DownloadError, data_dir, download, extract_zip, sha256sum
from tfcs231n.interop import conv_keras_to_torch, conv_torch_to_keras
from tfcs231n.visualization.squeezenet import FIRE_PLANES, NUM_CLASSES, SqueezeNet

# Every reader returns a "state": torchvision key -> NumPy array in torch layout. One
# function (`_assign`) then checks it against the model and copies it in.


def _conv_layers(model):
    """torchvision key prefix -> (Keras conv layer, its label) for every convolution."""
    convs = {"features.0": (model.get_layer("features_0"), "features_0")}
    for index in FIRE_PLANES:
        fire = model.get_layer(f"features_{index}")
        for part in ("squeeze", "expand1x1", "expand3x3"):
            convs[f"features.{index}.{part}"] = (getattr(fire, part), f"features_{index}/{part}")
    convs["classifier.1"] = (model.get_layer("classifier_1"), "classifier_1")
    return convs


def squeezenet_state_dict(model):
    """A `SqueezeNet` model's weights under torchvision's keys, in torch layout (NumPy).

    The inverse of loading: ``torch_model.load_state_dict({k: torch.from_numpy(v) ...})``
    takes the result, e.g. to move a model fine-tuned here back to PyTorch.
    """
    state = {}
    for prefix, (conv, _) in _conv_layers(model).items():
        state[f"{prefix}.weight"] = conv_keras_to_torch(keras.ops.convert_to_numpy(conv.kernel))
        state[f"{prefix}.bias"] = keras.ops.convert_to_numpy(conv.bias)
    return state


def _assign(model, state, source):
    """Checks `state` against `model` (keys, then shapes) and copies it in.

    The classifier is skipped when its class count differs from the model's and the model's
    is not 1000 (fine-tuning); otherwise every key must be present with the model's shape.
    """
    targets = {}  # torchvision key -> (variable, label)
    for prefix, (conv, label) in _conv_layers(model).items():
        targets[f"{prefix}.weight"] = (conv.kernel, label)
        targets[f"{prefix}.bias"] = (conv.bias, label)
    classes = model.get_layer("classifier_1").filters
    file_bias = state.get("classifier.1.bias")
    file_classes = None if file_bias is None else np.shape(file_bias)[0]
    skip = set()
    if classes != NUM_CLASSES and file_classes != classes:
        skip = {"classifier.1.weight", "classifier.1.bias"}

    missing = [f"{k} ({targets[k][1]})" for k in targets if k not in state and k not in skip]
    unexpected = [k for k in state if k not in targets]
    if missing or unexpected:
        raise ValueError(
            f"{source} does not hold SqueezeNet 1.1 weights: missing {missing or 'none'}; "
            f"unexpected {unexpected or 'none'}"
        )
    wrong = []
    for key, (variable, label) in targets.items():
        if key in skip:
            continue
        expected = tuple(variable.shape)
        if key.endswith(".weight"):
            expected = (expected[3], expected[2], expected[0], expected[1])
        if tuple(np.shape(state[key])) != expected:
            wrong.append(f"{label} ({key}): file {tuple(np.shape(state[key]))}, "
                         f"model {expected}")
    if wrong:
        raise ValueError(
            f"{source}: shapes differ from the model (torch layout: out, in, kh, kw): "
            + "; ".join(wrong)
        )
    for key, (variable, _) in targets.items():
        if key not in skip:
            value = np.asarray(state[key])
            if key.endswith(".weight"):
                value = conv_torch_to_keras(value)
            variable.assign(value.astype(variable.dtype))


def _read_torch(path):
    try:
        import torch  # optional: only .pth files need it
    except ImportError as e:
        raise ImportError(
            f"reading {path} needs PyTorch (pip install torch); or run convert_squeezenet on a "
            "machine that has it and load the .weights.h5 it writes"
        ) from e
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as e:
        # Corrupt, truncated, or a whole pickled model, which weights_only refuses to run.
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"{path} is not a readable PyTorch state dict ({reason}); save one "
                         f"with torch.save(model.state_dict(), path)") from e
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path} is not a PyTorch state dict of tensors")
    arrays = {}
    for key, tensor in state.items():
        tensor = tensor.detach()
        if tensor.dtype not in (torch.float32, torch.float64):
            tensor = tensor.float()  # NumPy has no bfloat16
        arrays[key] = tensor.numpy()
    return arrays


def _read_keras_h5(path):
    """Loads a `.weights.h5` through Keras into a fresh model of the file's class count."""
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


# Course TF checkpoints, Keras layout (kh, kw, in, out). Variable names:
# * TF2 (squeezenet_tf2.zip): the course's Keras SqueezeNet, a subclassed Model whose `net`
#   Sequential holds conv, pool, 8 Fire models, conv, avg-pool. Keras 2's object-based
#   checkpoint names the n-th layer that has weights `layer_with_weights-n` and a Fire's
#   convs by attribute (squeeze, expand1x1, expand3x3), so keys read
#   ``net/layer_with_weights-{n}[/{part}]/{kernel|bias}/.ATTRIBUTES/VARIABLE_VALUE``.
#   Derived from the course's model code and Keras 2's naming rule, not from the file
#   itself (which we could not fetch); a leading prefix such as ``model/`` is tolerated.
# * TF1 (squeezenet_tf.zip): variable scopes ``features/layer{i}[/fire/{squeeze|e11|e33}]``
#   and ``classifier/layer1``, each holding ``weights`` and ``bias`` (read from the course's
#   TF1 model code; torchvision's indices, the same as ours).
_TF2_ANCHOR = "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
_TF1_PARTS = {"squeeze": "squeeze", "expand1x1": "e11", "expand3x3": "e33"}


def _course_names(layout):
    """torchvision conv prefix -> (kernel name, bias name) in a course checkpoint."""
    names = {}
    prefixes = ["features.0"] + [f"features.{i}.{p}" for i in FIRE_PLANES for p in _TF1_PARTS]
    prefixes.append("classifier.1")
    for prefix in prefixes:
        parts = prefix.split(".")
        if layout == "tf1":
            scope = "classifier/layer1" if parts[0] == "classifier" else f"features/layer{parts[1]}"
            if len(parts) == 3:
                scope += f"/fire/{_TF1_PARTS[parts[2]]}"
            names[prefix] = (f"{scope}/weights", f"{scope}/bias")
        else:
            if parts[0] == "classifier":
                n = len(FIRE_PLANES) + 1
            else:
                n = 0 if parts[1] == "0" else sorted(FIRE_PLANES).index(int(parts[1])) + 1
            scope = f"net/layer_with_weights-{n}" + (f"/{parts[2]}" if len(parts) == 3 else "")
            names[prefix] = tuple(f"{scope}/{v}/.ATTRIBUTES/VARIABLE_VALUE"
                                  for v in ("kernel", "bias"))
    return names


def _read_tf_checkpoint(prefix):
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as e:
        raise ValueError(f"{prefix} is not a readable TensorFlow checkpoint: {e}") from e
    keys = set(reader.get_variable_to_shape_map())
    if "features/layer0/weights" in keys:
        layout, root = "tf1", ""
        # Weights and biases under the model's scopes: anything unmapped is an extra layer.
        weight_like = {k for k in keys if k.startswith(("features/", "classifier/"))
                       and k.rsplit("/", 1)[-1] in ("weights", "bias")}
    else:
        anchors = sorted((k for k in keys if k.endswith(_TF2_ANCHOR) and "OPTIMIZER" not in k),
                         key=len)
        if not anchors:
            raise ValueError(
                f"{prefix} is a TF checkpoint but not the course's SqueezeNet: found neither "
                f"'features/layer0/weights' (TF1) nor '.../net/{_TF2_ANCHOR}' (TF2)"
            )
        layout, root = "tf2", anchors[0][: -len("net/" + _TF2_ANCHOR)]
        weight_like = {k for k in keys if k.startswith(root + "net/")
                       and k.endswith("/.ATTRIBUTES/VARIABLE_VALUE") and "OPTIMIZER" not in k}
    state = {}
    for torch_prefix, names in _course_names(layout).items():
        for suffix, name in zip(("weight", "bias"), names):
            if root + name in keys:
                value = reader.get_tensor(root + name)
                state[f"{torch_prefix}.{suffix}"] = (
                    conv_keras_to_torch(value) if suffix == "weight" else value
                )
                weight_like.discard(root + name)
    # Passed on under their own names, so that `_assign` reports them as unexpected.
    state.update({k: reader.get_tensor(k) for k in sorted(weight_like)})
    return state


def _resolve_tf_prefix(path):
    """The checkpoint prefix for `path`: a prefix, its .index file, or a folder holding one."""
    path = Path(path)
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        found = latest or next((str(p)[: -len(".index")] for p in sorted(path.glob("*.index"))),
                               None)
        if found is None:
            raise FileNotFoundError(f"no TensorFlow checkpoint in folder {path}")
        return found
    if path.suffix == ".index":
        return str(path)[: -len(".index")]
    return str(path)


def read_squeezenet_weights(path):
    """Reads any supported weights file into ``{torchvision key: array in torch layout}``.

    `.pth`/`.pt`: torchvision state dict (needs torch); `.h5`: a `.weights.h5` of this
    package; anything else: a course TF checkpoint (prefix, `.index` file, or its folder).
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".pth", ".pt")):
        if not path.is_file():
            raise FileNotFoundError(f"no such weights file: {path}")
        return _read_torch(path)
    if name.endswith(".h5"):
        if not path.is_file():
            raise FileNotFoundError(f"no such weights file: {path}")
        return _read_keras_h5(path)
    prefix = _resolve_tf_prefix(path)
    if not (Path(prefix + ".index").is_file() or Path(prefix).is_file()):
        raise FileNotFoundError(
            f"no weights at {path}: expected a .pth, a .weights.h5, or a TF checkpoint prefix "
            f"(with {Path(prefix).name}.index beside it)"
        )
    return _read_tf_checkpoint(prefix)


def load_squeezenet_weights(model, weights):
    """Loads weights into a `SqueezeNet` model, checking every key and shape first.

    Args:
        model: a model built by `SqueezeNet`.
        weights: a file (see `read_squeezenet_weights`), or a state dict: torchvision key ->
            NumPy array or torch tensor, in torch layout (as `squeezenet_state_dict` gives).

    Raises:
        ValueError: a key is missing or unexpected, or a shape differs; the message names
            the Keras layer, the torchvision key and both shapes.
    """
    if isinstance(weights, Mapping):
        state = {k: v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
                 for k, v in weights.items()}
        _assign(model, state, "the state dict")
    else:
        _assign(model, read_squeezenet_weights(weights), str(weights))
    return model


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
    _assign(model, state, str(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(dst))
    return dst


# ----------------------------------------------------------------------------- download


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """Where a set of published SqueezeNet 1.1 weights lives.

    sha256_prefix: leading hex digits of the file's SHA-256, when only those are published
        (torch.hub's convention: the hex after the last '-' of the file name). 8 digits catch
        a corrupt or wrong file, not a deliberately forged one.
    checkpoint: for zip archives, the checkpoint prefix's file name inside.
    """

    url: str
    sha256_prefix: str | None = None
    checkpoint: str | None = None

    @property
    def filename(self):
        return self.url.rsplit("/", 1)[-1]


SQUEEZENET_WEIGHTS = {
    # torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1 (ImageNet top-1 58.178%).
    "torchvision": WeightsSource(
        "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth", sha256_prefix="b8a52dc0"
    ),
    # The course's TF2 port (cs231n/datasets/get_squeezenet_tf.sh); no published checksum.
    "course-tf2": WeightsSource("http://cs231n.stanford.edu/squeezenet_tf2.zip",
                                checkpoint="squeezenet.ckpt"),
    # The course's earlier TF1 port; no published checksum.
    "course-tf1": WeightsSource("http://cs231n.stanford.edu/squeezenet_tf.zip",
                                checkpoint="squeezenet.ckpt"),
}


def download_squeezenet(kind="torchvision", path=None):
    """Downloads published SqueezeNet 1.1 weights once and returns what `SqueezeNet` loads.

    Args:
        kind: a key of `SQUEEZENET_WEIGHTS`: "torchvision" (the .pth), "course-tf2" or
            "course-tf1" (zips holding a TF checkpoint, extracted beside the zip).
        path: where the downloaded file goes; default ``data_dir("squeezenet")/<file name>``.

    Returns:
        The path to pass as ``SqueezeNet(weights=...)``: the .pth, or the checkpoint prefix.

    Raises:
        DownloadError: offline, HTTP error, or the file's SHA-256 does not start with the
            published prefix (the file is then deleted); the message is one line.
    """
    if kind not in SQUEEZENET_WEIGHTS:
        raise ValueError(f"kind must be one of {sorted(SQUEEZENET_WEIGHTS)}, got {kind!r}")
    source = SQUEEZENET_WEIGHTS[kind]
    path = Path(path) if path is not None else data_dir("squeezenet") / source.filename
    download(source.url, path)
    if source.sha256_prefix is not None:
        digest = sha256sum(path)
        if not digest.startswith(source.sha256_prefix):
            path.unlink()
            raise DownloadError(
                f"Checksum mismatch for {source.url}: SHA-256 {digest} does not start with the "
                f"published {source.sha256_prefix}; the file was deleted, run again"
            )
    if source.checkpoint is None:
        return path
    folder = path.with_name(path.name.removesuffix(".zip"))
    found = sorted(folder.rglob(source.checkpoint + ".index")) if folder.is_dir() else []
    if not found:
        extract_zip(path, folder)
        found = sorted(folder.rglob(source.checkpoint + ".index"))
    if found:
        return Path(str(found[0])[: -len(".index")])
    v1 = sorted(folder.rglob(source.checkpoint))  # a TF1 V1 checkpoint is a single file
    if v1:
        return v1[0]
    raise DownloadError(f"{path} holds no {source.checkpoint} checkpoint; delete it and retry")
