"""Reference ResNet-18 in plain PyTorch, for checking `tfcs231n.vision.resnet`.

The module tree (and so every state-dict key) is torchvision's `resnet18`:

    conv1      Conv2d(3, w, 7, stride 2, padding 3, bias=False)     bn1, relu
    maxpool    MaxPool2d(3, stride 2, padding 1)
    layer1-4   two BasicBlocks each, w, 2w, 4w, 8w channels; layer2-4 start with stride 2
               BasicBlock: conv1 3x3 (stride s, pad 1) bn1 relu conv2 3x3 bn2, + identity or
               downsample (0: Conv2d 1x1 stride s, no bias; 1: BatchNorm2d), relu
    avgpool    AdaptiveAvgPool2d(1)
    fc         Linear(8w, num_classes)

with w = 64 for torchvision. `width` scales every channel count (w = 16 gives a ResNet-18
sixteen times cheaper for CPU experiments; the layout is unchanged). BatchNorm is
PyTorch's (eps 1e-5, momentum 0.1), so torchvision's ImageNet file loads unchanged.
"""

import numpy as np
import torch
from torch import nn

NUM_CLASSES = 1000
WIDTH = 64
STAGES = ("layer1", "layer2", "layer3", "layer4")


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    """torchvision's ResNet-18: (N, 3, H, W) -> (N, num_classes) logits."""

    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = width
        for k, stage in enumerate(STAGES):
            planes, stride = width * 2 ** k, 1 if k == 0 else 2
            setattr(self, stage, nn.Sequential(BasicBlock(inplanes, planes, stride),
                                               BasicBlock(planes, planes)))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in STAGES:
            x = getattr(self, stage)(x)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


def random_state_dict(num_classes=NUM_CLASSES, width=WIDTH, seed=0):
    """A full state dict of float64 NumPy arrays under torchvision's keys.

    Convolutions are He-normal; batch norms get random gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1),
    running mean ~ N(0, 0.2) and running var ~ U(0.5, 2), so inference-mode BN is a real
    affine map (with the defaults 0 / 1 a swapped mean and var would go unnoticed).
    """
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in ResNet18(num_classes, width).state_dict().items():
        shape = tuple(value.shape)
        if key.endswith("num_batches_tracked"):
            state[key] = np.array(0, np.int64)
        elif value.ndim == 4:  # conv
            state[key] = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        elif key.startswith("fc."):
            fan_in = 8 * width
            state[key] = rng.standard_normal(shape) / np.sqrt(fan_in if value.ndim == 2 else 1)
        elif key.endswith(".weight"):
            state[key] = rng.uniform(0.5, 1.5, shape)
        elif key.endswith(".bias"):
            state[key] = 0.1 * rng.standard_normal(shape)
        elif key.endswith("running_mean"):
            state[key] = 0.2 * rng.standard_normal(shape)
        else:
            state[key] = rng.uniform(0.5, 2.0, shape)
    return state


def load_arrays(model, arrays):
    """Loads a dict of NumPy arrays into `model` (floats cast to its dtype), strictly."""
    dtype = next(model.parameters()).dtype
    model.load_state_dict({
        k: torch.from_numpy(np.asarray(v)).to(dtype) if np.asarray(v).dtype.kind == "f"
        else torch.from_numpy(np.asarray(v)) for k, v in arrays.items()})
    return model
