"""The style-transfer losses (Gatys et al. 2016), NHWC: the course's, written once.

d2l's and the TF tutorial's variants are a `LossForm` (how sums are reduced, how the Gram
matrix is normalised, which total variation), not a second copy of the math:

    form          content / style     Gram divided by   total variation
    course        sum of squares      H*W*C             sum of squared neighbour diffs
    d2l           mean of squares     H*W*C             0.5 (mean|dy| + mean|dx|)
    tf-tutorial   mean of squares     H*W               sum of |neighbour diffs|

`StyleLosses` binds the three to one (content, style) pair through one backbone; the
optimisation that uses it is `tfcs231n.style.optimize`.
"""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class LossForm:
    """How the three losses reduce. reduction: "sum" or "mean" (content and style);
    gram_normalize: "hwc", "hw" or "none"; tv: "squared_sum", "abs_mean" or "abs_sum"."""

    reduction: str = "sum"
    gram_normalize: str = "hwc"
    tv: str = "squared_sum"

    def __post_init__(self):
        for field, allowed in (("reduction", _REDUCE), ("gram_normalize", _GRAM_NORM),
                               ("tv", _TV_KINDS)):
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} must be one of {sorted(allowed)}, "
                                 f"got {getattr(self, field)!r}")


_REDUCE = {"sum": tf.reduce_sum, "mean": tf.reduce_mean}


_GRAM_NORM = ("hwc", "hw", "none")


_TV_KINDS = ("squared_sum", "abs_mean", "abs_sum")


LOSS_FORMS = {
    "course": LossForm(),
    "d2l": LossForm("mean", "hwc", "abs_mean"),
    "tf-tutorial": LossForm("mean", "hw", "abs_sum"),
}


def content_loss(content_weight, content_current, content_original, reduction="sum"):
    """w * sum((F - P)^2) (reduction "sum", the course) or w * mean(...) ("mean", d2l).

    Args:
        content_weight: scalar weight w.
        content_current, content_original: (N, H, W, C) features of the image being made
            and of the content image.

    Returns:
        A scalar tensor.
    """
    if tuple(content_current.shape) != tuple(content_original.shape):
        raise ValueError(f"content_current has shape {tuple(content_current.shape)} but "
                         f"content_original has {tuple(content_original.shape)}")
    diff = content_current - content_original
    return content_weight * _REDUCE[reduction](tf.square(diff))


def gram_matrix(features, normalize=True):
    """Gram matrices of feature maps.

    Args:
        features: (N, H, W, C).
        normalize: True or "hwc" divides by H*W*C (the course, d2l); "hw" by H*W (the TF
            tutorial); False or "none" not at all.

    Returns:
        (N, C, C) with G[n, c, d] = sum over positions of F[n, ., ., c] F[n, ., ., d].
    """
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 4:
        raise ValueError(f"features must be (N, H, W, C), got shape {tuple(features.shape)}")
    shape = tf.shape(features)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(features, (n, h * w, c))  # (N, HW, C)
    gram = tf.matmul(flat, flat, transpose_a=True)  # (N, C, C)
    mode = {True: "hwc", False: "none"}.get(normalize, normalize)
    if mode not in _GRAM_NORM:
        raise ValueError(f"normalize must be True, False, 'hwc', 'hw' or 'none', got {normalize!r}")
    if mode == "none":
        return gram
    size = h * w * c if mode == "hwc" else h * w
    return gram / tf.cast(size, gram.dtype)


def style_loss(feats, style_layers, style_targets, style_weights, reduction="sum",
               normalize=True):
    """sum over l of w_l * sum((G_l - A_l)^2) (or the mean, with reduction "mean").

    Args:
        feats: the current image's features, indexable by layer (a list of every layer's
            maps, as the course's `extract_features` returns, or a dict index -> map).
        style_layers: layer indices, length L.
        style_targets: L Gram matrices (N, C_l, C_l) of the style image at those layers.
        style_weights: L scalars.
        normalize: the Gram normalisation (see `gram_matrix`).

    Returns:
        A scalar tensor.
    """
    if not len(style_layers) == len(style_targets) == len(style_weights):
        raise ValueError(f"style_layers, style_targets and style_weights must have one entry "
                         f"per layer, got lengths {len(style_layers)}, {len(style_targets)} "
                         f"and {len(style_weights)}")
    loss = 0.0
    for layer, target, weight in zip(style_layers, style_targets, style_weights):
        gram = gram_matrix(feats[layer], normalize)
        loss += weight * _REDUCE[reduction](tf.square(gram - target))
    return loss


def tv_loss(img, tv_weight, kind="squared_sum"):
    """Total-variation loss of images (N, H, W, C).

    kind "squared_sum" (the course): w * (sum dy^2 + sum dx^2); "abs_mean" (d2l):
    w * 0.5 * (mean|dy| + mean|dx|); "abs_sum" (`tf.image.total_variation`):
    w * (sum|dy| + sum|dx|). dy, dx: differences of vertical and horizontal neighbours.
    """
    if kind not in _TV_KINDS:
        raise ValueError(f"kind must be one of {_TV_KINDS}, got {kind!r}")
    if len(img.shape) != 4:
        raise ValueError(f"img must be (N, H, W, C), got shape {tuple(img.shape)}")
    dy = img[:, 1:, :, :] - img[:, :-1, :, :]  # (N, H-1, W, C)
    dx = img[:, :, 1:, :] - img[:, :, :-1, :]  # (N, H, W-1, C)
    if kind == "squared_sum":
        return tv_weight * (tf.reduce_sum(tf.square(dy)) + tf.reduce_sum(tf.square(dx)))
    if kind == "abs_sum":
        return tv_weight * (tf.reduce_sum(tf.abs(dy)) + tf.reduce_sum(tf.abs(dx)))
    return tv_weight * 0.5 * (tf.reduce_mean(tf.abs(dy)) + tf.reduce_mean(tf.abs(dx)))


class StyleLosses:
    """The three weighted losses of one (content, style) pair through one backbone.

    Targets (content features, style Grams) are computed once here; `__call__` is pure
    TF and differentiable w.r.t. the image, so steps, L-BFGS and parity tests share it.
    """

    def __init__(self, backbone, content, style, content_layer, content_weight, style_layers,
                 style_weights, tv_weight, loss_form="course", style_mask=None):
        self.form = LOSS_FORMS[loss_form] if isinstance(loss_form, str) else loss_form
        style_layers, style_weights = tuple(style_layers), tuple(style_weights)
        _check_layer_args(backbone, content_layer, style_layers, style_weights)
        self.backbone, self.content_layer = backbone, int(content_layer)
        self.style_layers, self.style_weights = style_layers, style_weights
        self.content_weight, self.tv_weight = content_weight, tv_weight
        self.layers = (self.content_layer, *style_layers)
        self.style_mask = style_mask
        self.content_target = backbone.features(content, [self.content_layer])[0]
        feats = dict(zip(style_layers, backbone.features(style, style_layers)))
        self.style_targets = [gram_matrix(feats[i], self.form.gram_normalize)
                              for i in style_layers]

    def _masked(self, feats):
        """Spatial control: style statistics only where the mask (H, W) in [0, 1] is on."""
        if self.style_mask is None:
            return feats
        out = dict(feats)
        for i in self.style_layers:
            size = tf.shape(feats[i])[1:3]
            m = tf.image.resize(tf.cast(self.style_mask, feats[i].dtype)[None, :, :, None], size)
            out[i] = feats[i] * m
        return out

    def __call__(self, image):
        """Dict of scalar tensors "content", "style", "tv", "total" for image (1, H, W, 3)."""
        maps = self.backbone.features(image, self.layers)
        feats = self._masked(dict(zip(self.layers, maps)))
        c = content_loss(self.content_weight, maps[0], self.content_target, self.form.reduction)
        s = style_loss(feats, self.style_layers, self.style_targets, self.style_weights,
                       self.form.reduction, self.form.gram_normalize)
        t = tv_loss(image, self.tv_weight, self.form.tv)
        s = tf.cast(s, c.dtype)
        return {"content": c, "style": s, "tv": t, "total": c + s + t}


def _check_layer_args(backbone, content_layer, style_layers, style_weights):
    if len(style_layers) != len(style_weights):
        raise ValueError(f"style_layers and style_weights must have the same length, got "
                         f"{len(style_layers)} and {len(style_weights)}")
    backbone.check_layers([content_layer], "content_layer")
    backbone.check_layers(style_layers, "style layer")
