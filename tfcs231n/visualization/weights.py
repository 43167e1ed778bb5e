"""SqueezeNet 1.1 weight files that need more than `tfcs231n.interop`: the course's TF
checkpoints, and downloading published weights.

`read_course_checkpoint` returns a "state": torchvision key -> NumPy array in torch layout,
which `tfcs231n.visualization.squeezenet.SqueezeNet(weights=...)` checks and loads through
`tfcs231n.interop.load_torch_state_dict`. This module reads files only; it does not build
models (the architecture module imports it, not the other way round).
"""

import dataclasses
from pathlib import Path

import tensorflow as tf

from tfcs231n.data.download import DownloadError, data_dir, download, extract_zip, sha256sum
from tfcs231n.interop import conv_keras_to_torch

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
# torchvision features indices of the Fire modules: the course's network holds them in this
# order, between its first convolution (layer_with_weights-0) and its classifier (-9).
_COURSE_FIRES = (3, 4, 6, 7, 9, 10, 11, 12)


def _course_names(layout):
    """torchvision conv prefix -> (kernel name, bias name) in a course checkpoint."""
    names = {}
    prefixes = ["features.0"] + [f"features.{i}.{p}" for i in _COURSE_FIRES for p in _TF1_PARTS]
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
                n = len(_COURSE_FIRES) + 1
            else:
                n = 0 if parts[1] == "0" else _COURSE_FIRES.index(int(parts[1])) + 1
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
    # Passed on under their own names, so that the loader reports them as unexpected.
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


def read_course_checkpoint(path):
    """Reads a course TF checkpoint into ``{torchvision key: array in torch layout}``.

    Args:
        path: the checkpoint prefix (``.../squeezenet.ckpt``), its ``.index`` file, or the
            folder holding it. TF1 and TF2 layouts are told apart by their variable names.

    Raises:
        FileNotFoundError: no checkpoint there.
        ValueError: a TF checkpoint, but not the course's SqueezeNet.
    """
    prefix = _resolve_tf_prefix(path)
    if not (Path(prefix + ".index").is_file() or Path(prefix).is_file()):
        raise FileNotFoundError(
            f"no weights at {path}: expected a .pth, a .weights.h5, or a TF checkpoint prefix "
            f"(with {Path(prefix).name}.index beside it)"
        )
    return _read_tf_checkpoint(prefix)


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
