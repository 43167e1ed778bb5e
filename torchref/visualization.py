"""PyTorch reference for network visualization, written the course's PyTorch way.

Independent of tfcs231n: images are (N, C, H, W) tensors, gradients come from
`backward()`, the image updates act in place on `.data` under `no_grad` as in the course's
`net_visualization_pytorch.py`, and the blur is a NumPy stand-in for
`scipy.ndimage.gaussian_filter1d` (scipy is not a dependency) built with `np.pad`.
Models map (N, C, H, W) to unnormalised scores (N, num_classes).
"""

import numpy as np
import torch


def compute_saliency_maps(X, y, model):
    """(N, H, W): max over channels of |d s_{y_i} / d X_i|; X is not modified."""
    model.eval()
    X = X.detach().clone().requires_grad_()
    scores = model(X)  # (N, num_classes)
    scores.gather(1, y.view(-1, 1)).sum().backward()
    return X.grad.abs().max(dim=1).values


def fooling_step(X_fooling, target_y, model, learning_rate=1):
    """In place: X_fooling += learning_rate * g / ||g||_2, g = d s_target / d X_fooling.

    X_fooling must be a leaf tensor with requires_grad. Returns the scores before the step.
    """
    scores = model(X_fooling)
    scores[0, target_y].backward()
    with torch.no_grad():
        g = X_fooling.grad
        X_fooling += learning_rate * g / g.norm()
        X_fooling.grad.zero_()
    return scores.detach()


def class_visualization_update_step(img, model, target_y, l2_reg, learning_rate):
    """In place: img += learning_rate * d/d img [s_target(img) - l2_reg * ||img||_2^2]."""
    scores = model(img)
    objective = scores[0, target_y] - l2_reg * (img * img).sum()
    objective.backward()
    with torch.no_grad():
        img += learning_rate * img.grad
        img.grad.zero_()


def jitter(X, ox, oy):
    """The course's jitter: moves the last ox columns and oy rows to the front."""
    if ox != 0:
        left, right = X[:, :, :, :-ox], X[:, :, :, -ox:]
        X = torch.cat([right, left], dim=3)
    if oy != 0:
        top, bottom = X[:, :, :-oy], X[:, :, -oy:]
        X = torch.cat([bottom, top], dim=2)
    return X


def gaussian_kernel1d(sigma, truncate=4.0):
    """Weights of scipy's gaussian_filter1d: radius int(truncate * sigma + 0.5), sum 1."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / float(sigma) ** 2 * x**2)
    return phi / phi.sum()


def gaussian_filter1d(x, sigma, axis=-1, truncate=4.0):
    """scipy.ndimage.gaussian_filter1d(x, sigma, axis) with mode='reflect', in NumPy.

    'reflect' is np.pad's 'symmetric' (d c b a | a b c d | d c b a); the kernel is
    symmetric, so correlation and convolution agree.
    """
    x = np.asarray(x)
    weights = gaussian_kernel1d(sigma, truncate)
    radius = len(weights) // 2
    axis = axis % x.ndim
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(x.astype(np.float64), pad, mode="symmetric")
    n = x.shape[axis]
    out = sum(w * np.take(padded, np.arange(k, k + n), axis=axis) for k, w in enumerate(weights))
    return out.astype(x.dtype)


def blur_image(X, sigma=1):
    """The course's blur: gaussian_filter1d along H then W of (N, C, H, W), in place."""
    X_np = X.detach().cpu().numpy()
    X_np = gaussian_filter1d(X_np, sigma, axis=2)
    X_np = gaussian_filter1d(X_np, sigma, axis=3)
    X.data.copy_(torch.from_numpy(X_np).type_as(X))
    return X
