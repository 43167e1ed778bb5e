"""Reference SqueezeNet 1.1 in plain PyTorch, for checking `tfcs231n.visualization.squeezenet`.

The module tree (and so every state-dict key) is torchvision's `squeezenet1_1`:

    features.0            Conv2d(3, 64, 3, stride=2)          weight (64, 3, 3, 3), bias (64,)
    features.1            ReLU
    features.2            MaxPool2d(3, 2, ceil_mode=True)
    features.3, .4        Fire(in, 16, 64, 64)                squeeze / expand1x1 / expand3x3
    features.5            MaxPool2d(3, 2, ceil_mode=True)
    features.6, .7        Fire(in, 32, 128, 128)
    features.8            MaxPool2d(3, 2, ceil_mode=True)
    features.9, .10       Fire(in, 48, 192, 192)
    features.11, .12      Fire(in, 64, 256, 256)
    classifier.0          Dropout(p)
    classifier.1          Conv2d(512, num_classes, 1)
    classifier.2          ReLU
    classifier.3          AdaptiveAvgPool2d(1)   -> flattened to (N, num_classes)

so ``model.load_state_dict(torch.load("squeezenet1_1-b8a52dc0.pth"))`` loads torchvision's
ImageNet weights unchanged. Departures from torchvision that do not change any number:
ReLUs are not in-place (so `feature_maps` can keep the convolution's output), and
initialisation is PyTorch's default (torchvision's own init does not matter for parity:
tests copy the same weights into both models).
"""

import numpy as np
import torch
from torch import nn

NUM_CLASSES = 1000

# features index -> (squeeze, expand1x1, expand3x3) for every Fire module, in order.
FIRE_PLANES = {
    3: (16, 64, 64),
    4: (16, 64, 64),
    6: (32, 128, 128),
    7: (32, 128, 128),
    9: (48, 192, 192),
    10: (48, 192, 192),
    11: (64, 256, 256),
    12: (64, 256, 256),
}
POOL_INDICES = (2, 5, 8)


class Fire(nn.Module):
    """Squeeze 1x1 conv + ReLU, then [expand 1x1 + ReLU, expand 3x3 (pad 1) + ReLU] on channels."""

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)

    def forward(self, x):  # (N, C, H, W) -> (N, e1 + e3, H, W)
        s = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(s)), torch.relu(self.expand3x3(s))], dim=1)


class SqueezeNet(nn.Module):
    """torchvision's SqueezeNet 1.1: (N, 3, H, W) images -> (N, num_classes) scores."""

    def __init__(self, num_classes=NUM_CLASSES, dropout=0.5):
        super().__init__()
        layers = [nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU()]
        channels = 64
        for index in range(2, 13):
            if index in POOL_INDICES:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
            else:
                squeeze, e1, e3 = FIRE_PLANES[index]
                layers.append(Fire(channels, squeeze, e1, e3))
                channels = e1 + e3
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Conv2d(channels, num_classes, kernel_size=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, 1)),
        )

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def feature_maps(model, x):
    """Output of every `model.features` module, index for index: a list of 13 tensors."""
    outputs = []
    for module in model.features:
        x = module(x)
        outputs.append(x)
    return outputs


def random_state_dict(num_classes=NUM_CLASSES, seed=0):
    """A full state dict of float64 NumPy arrays under torchvision's keys.

    Weights are He-normal (std sqrt(2 / fan_in)) and biases N(0, 0.1^2) from one seeded
    generator, so activations keep their scale through all 26 convolutions and neither
    ReLU side dominates; PyTorch's default init shrinks them layer after layer.
    """
    rng = np.random.default_rng(seed)
    shapes = {k: tuple(v.shape) for k, v in SqueezeNet(num_classes).state_dict().items()}
    state = {}
    for key, shape in shapes.items():
        if key.endswith(".weight"):
            fan_in = int(np.prod(shape[1:]))
            state[key] = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        else:
            state[key] = 0.1 * rng.standard_normal(shape)
    return state


def load_arrays(model, arrays):
    """Loads a dict of NumPy arrays (any float dtype) into `model`, strictly, in place."""
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()})
    return model
