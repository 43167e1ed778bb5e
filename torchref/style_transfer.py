"""Reference style-transfer losses and optimisation steps in plain PyTorch (NCHW).

Written from the formulas of the course's PyTorch notebook, d2l (section 14.12) and the TF
style-transfer tutorial, for checking `tfcs231n.style.optimize`:

    content_loss   w * sum((F - P)^2)            (or mean: d2l)
    gram_matrix    F F^T / (H W C)               (or / (H W): TF tutorial; or none)
    style_loss     sum_l w_l * sum((G_l - A_l)^2)  (or mean)
    tv_loss        w * (sum dy^2 + sum dx^2)     (d2l: w/2 (mean|dy| + mean|dx|);
                                                  TF tutorial: w (sum|dy| + sum|dx|))

The backbones are torchvision's `vgg16().features` layout (`vgg_features`) and
`torchref.squeezenet`. One optimiser step is Keras's Adam written out by hand (`keras_adam`):
torch.optim.Adam adds epsilon after the bias correction of the second moment, Keras before,
which differs visibly at the epsilon of 0.1 the offline preset uses.
"""

import numpy as np
import torch
from torch import nn

CAFFE_BGR_MEAN = (104.00699, 116.66877, 122.67892)
TORCH_RGB_MEAN = (0.485, 0.456, 0.406)
TORCH_RGB_STD = (0.229, 0.224, 0.225)

VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M")
VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
             512, 512, 512, 512, "M")


def _reduce(x, reduction):
    return x.sum() if reduction == "sum" else x.mean()


def content_loss(content_weight, content_current, content_original, reduction="sum"):
    """(N, C, H, W) features -> scalar."""
    return content_weight * _reduce((content_current - content_original) ** 2, reduction)


def gram_matrix(features, normalize="hwc"):
    """(N, C, H, W) -> (N, C, C)."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    gram = flat @ flat.transpose(1, 2)
    if normalize in (True, "hwc"):
        return gram / (h * w * c)
    if normalize == "hw":
        return gram / (h * w)
    return gram


def style_loss(feats, style_layers, style_targets, style_weights, reduction="sum",
               normalize="hwc"):
    loss = 0.0
    for layer, target, weight in zip(style_layers, style_targets, style_weights):
        loss = loss + weight * _reduce((gram_matrix(feats[layer], normalize) - target) ** 2,
                                       reduction)
    return loss


def tv_loss(img, tv_weight, kind="squared_sum"):
    """(N, C, H, W) -> scalar."""
    dy = img[:, :, 1:, :] - img[:, :, :-1, :]
    dx = img[:, :, :, 1:] - img[:, :, :, :-1]
    if kind == "squared_sum":
        return tv_weight * ((dy ** 2).sum() + (dx ** 2).sum())
    if kind == "abs_sum":
        return tv_weight * (dy.abs().sum() + dx.abs().sum())
    return tv_weight * 0.5 * (dy.abs().mean() + dx.abs().mean())


# ----------------------------------------------------------------------------- backbones


def vgg_features(cfg=VGG16_CFG):
    """torchvision's VGG ``features`` Sequential (same module indices, so same keys)."""
    layers, channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU()]
            channels = v
    return nn.Sequential(*layers)


def load_conv_pairs(model, pairs):
    """Loads (weight (out, in, 3, 3), bias) NumPy pairs into the model's Conv2d, in order."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == len(pairs), (len(convs), len(pairs))
    with torch.no_grad():
        for conv, (w, b) in zip(convs, pairs):
            conv.weight.copy_(torch.from_numpy(np.asarray(w)))
            conv.bias.copy_(torch.from_numpy(np.asarray(b)))
    return model


def sequential_maps(model, x, layers):
    """Outputs of the given module indices of a Sequential, as a dict index -> map."""
    out, last = {}, max(layers)
    for i, module in enumerate(model):
        x = module(x)
        if i in layers:
            out[i] = x
        if i == last:
            break
    return out


def network_input(image, transform):
    """Image variable (N, 3, H, W) -> network input: "caffe" (RGB [0, 1] -> BGR*255 - mean),
    "torch" ((x - mean) / std) or "course" (unchanged)."""
    def col(v):
        return torch.tensor(v, dtype=image.dtype).reshape(1, 3, 1, 1)
    if transform == "caffe":
        return image.flip(1) * 255.0 - col(CAFFE_BGR_MEAN)
    if transform == "torch":
        return (image - col(TORCH_RGB_MEAN)) / col(TORCH_RGB_STD)
    return image


# ----------------------------------------------------------------------------- optimisation


class StyleLosses:
    """content, style, tv and total losses of an image (N, 3, H, W); `maps_fn(input, layers)`
    returns a dict layer -> features of the network input."""

    def __init__(self, maps_fn, transform, content, style, content_layer, content_weight,
                 style_layers, style_weights, tv_weight, reduction="sum", normalize="hwc",
                 tv_kind="squared_sum"):
        self.maps_fn, self.transform = maps_fn, transform
        self.content_layer, self.content_weight = content_layer, content_weight
        self.style_layers, self.style_weights = list(style_layers), list(style_weights)
        self.tv_weight, self.reduction, self.normalize = tv_weight, reduction, normalize
        self.tv_kind = tv_kind
        with torch.no_grad():
            self.content_target = self._maps(content, [content_layer])[content_layer]
            feats = self._maps(style, self.style_layers)
            self.style_targets = [gram_matrix(feats[i], normalize) for i in self.style_layers]

    def _maps(self, image, layers):
        return self.maps_fn(network_input(image, self.transform), layers)

    def __call__(self, image):
        feats = self._maps(image, [self.content_layer, *self.style_layers])
        c = content_loss(self.content_weight, feats[self.content_layer], self.content_target,
                         self.reduction)
        s = style_loss(feats, self.style_layers, self.style_targets, self.style_weights,
                       self.reduction, self.normalize)
        t = tv_loss(image, self.tv_weight, self.tv_kind)
        return {"content": c, "style": s, "tv": t, "total": c + s + t}


def keras_adam(param, grad, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One step of Keras 3's Adam in place:
    m <- m + (1 - b1)(g - m); v <- v + (1 - b2)(g^2 - v);
    p <- p - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)."""
    t = state["t"] = state.get("t", 0) + 1
    m = state.setdefault("m", torch.zeros_like(param))
    v = state.setdefault("v", torch.zeros_like(param))
    m += (1 - beta_1) * (grad - m)
    v += (1 - beta_2) * (grad * grad - v)
    alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    param -= alpha * m / (torch.sqrt(v) + epsilon)


def adam_steps(losses, image, num_steps, learning_rate, decayed_lr, decay_lr_at, clip=None,
               beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """`num_steps` Adam steps with the course schedule (lr until iteration decay_lr_at, then
    decayed_lr) and clipping; returns (final image, per-step losses before each update)."""
    image = image.clone()
    state, history = {}, []
    for t in range(num_steps):
        x = image.clone().requires_grad_()
        values = losses(x)
        values["total"].backward()
        history.append({k: float(v.detach()) for k, v in values.items()})
        with torch.no_grad():
            lr = learning_rate if t < decay_lr_at else decayed_lr
            keras_adam(image, x.grad, state, lr, beta_1, beta_2, epsilon)
            if clip is not None:
                image.clamp_(clip[0], clip[1])
    return image, history
