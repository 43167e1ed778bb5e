"""The course's `cs231n/style_transfer_tensorflow.py` over `tfcs231n.style.losses`.

The losses are the native ones with the course's defaults (sums, Gram divided by H*W*C);
`extract_features` walks ``cnn.net.layers[:-2]`` as the course's does, so it needs the
course's `tfcs231n.course.classifiers.squeezenet.SqueezeNet`.
"""


from tfcs231n.parity.engine import rel_error  # noqa: F401 (the course module has it)
from tfcs231n.style import losses


def content_loss(content_weight, content_current, content_original):
    """content_weight * sum((current - original)^2) over (1, H, W, C) features."""
    ### BEGIN SOLUTION
    return losses.content_loss(content_weight, content_current, content_original)
    ### END SOLUTION


def gram_matrix(features, normalize=True):
    """The (C, C) Gram matrix of one image's features (1, H, W, C), divided by H*W*C when
    `normalize`."""
    ### BEGIN SOLUTION
    if features.shape[0] != 1:
        raise ValueError(f"features must hold one image (1, H, W, C), got shape "
                         f"{tuple(features.shape)}; tfcs231n.style.losses.gram_matrix "
                         "takes a batch")
    return losses.gram_matrix(features, normalize)[0]
    ### END SOLUTION


def style_loss(feats, style_layers, style_targets, style_weights):
    """sum over l of style_weights[l] * sum((G_l - style_targets[l])^2)."""
    ### BEGIN SOLUTION
    return losses.style_loss(feats, style_layers, style_targets, style_weights)
    ### END SOLUTION


def tv_loss(img, tv_weight):
    """tv_weight * (sum of squared vertical and horizontal neighbour differences)."""
    ### BEGIN SOLUTION
    return losses.tv_loss(img, tv_weight)
    ### END SOLUTION


def extract_features(x, cnn):
    """Every feature map of `cnn` for images x (N, H, W, C): one per layer of
    ``cnn.net.layers[:-2]`` (12 for SqueezeNet), each fed the previous one's output."""
    features = []
    prev = x
    for layer in cnn.net.layers[:-2]:
        prev = layer(prev)
        features.append(prev)
    return features


