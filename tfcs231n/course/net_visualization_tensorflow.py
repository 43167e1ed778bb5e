"""The course's `cs231n/net_visualization_tensorflow.py` over `tfcs231n.visualization`.

Same names, arguments and returns as the course's module (NumPy arrays out); the math is
the native module's (`tfcs231n.visualization.saliency`). `model` may be the course's
`tfcs231n.course.classifiers.squeezenet.SqueezeNet` or any Keras model mapping
preprocessed images to scores.
"""

import numpy as np

from tfcs231n.visualization import saliency as native


def _model(model):
    return getattr(model, "native", model)


def compute_saliency_maps(X, y, model):
    """Saliency maps (N, H, W) of images X (N, H, W, 3) for labels y (N,)."""
    ### BEGIN SOLUTION
    return np.asarray(native.compute_saliency_maps(X, y, _model(model)))
    ### END SOLUTION


def make_fooling_image(X, target_y, model):
    """An image (1, H, W, 3) near X that the model classifies as target_y (at most 100
    normalised steps of size 1, the course's settings)."""
    ### BEGIN SOLUTION
    X_fooling, _ = native.make_fooling_image(X, target_y, _model(model))
    return np.asarray(X_fooling)
    ### END SOLUTION


def class_visualization_update_step(X, model, target_y, l2_reg, learning_rate):
    """One gradient-ascent step on s_y(X) - l2_reg * ||X||^2; returns the new X."""
    ### BEGIN SOLUTION
    return np.asarray(native.class_visualization_update_step(X, _model(model), target_y,
                                                             l2_reg, learning_rate))
    ### END SOLUTION


def blur_image(X, sigma=1):
    """Gaussian blur of each image of X (N, H, W, C) along H and W."""
    return np.asarray(native.blur_image(X, sigma))


def jitter(X, ox, oy):
    """X rolled by ox pixels along the width and oy along the height (wrapping)."""
    return np.asarray(native.jitter(X, ox, oy))
