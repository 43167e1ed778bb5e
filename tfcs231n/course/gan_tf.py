"""The course's `cs231n/gan_tf.py` over `tfcs231n.gan`.

Everything the course's module defines, under its names: the losses, the vanilla and
DCGAN networks (`dc_discriminator` / `dc_generator`, and `dcgan.discriminator()` /
`dcgan.generator()`, the names the earlier notebook gives them in its DCGAN cells),
`get_solvers`, `run_a_gan`, `MNIST`, `preprocess_img` / `deprocess_img`. Offline, `MNIST`
serves the synthetic digits (`tfcs231n.data.mnist.load_digits`).
"""

import types

import numpy as np

from tfcs231n.gan.losses import (discriminator_loss, generator_loss, ls_discriminator_loss,
                                 ls_generator_loss)
from tfcs231n.gan.models import (NOISE_DIM, dc_discriminator, dc_generator, deprocess_img,
                                 discriminator, generator, get_solvers, leaky_relu,
                                 preprocess_img, sample_noise)
from tfcs231n.gan.training import run_a_gan

__all__ = ["NOISE_DIM", "leaky_relu", "sample_noise", "discriminator", "generator",
           "discriminator_loss", "generator_loss", "get_solvers", "ls_discriminator_loss",
           "ls_generator_loss", "dc_discriminator", "dc_generator", "run_a_gan", "MNIST",
           "preprocess_img", "deprocess_img", "dcgan"]

# The DCGAN section of the earlier notebook redefines discriminator() / generator().
dcgan = types.SimpleNamespace(discriminator=dc_discriminator, generator=dc_generator)


class MNIST:
    """Minibatches of flattened digits in [0, 1]: ``for x, y in MNIST(batch_size)``.

    Args:
        batch_size: images per minibatch.
        shuffle: reshuffle (with NumPy's global generator) every epoch.

    Attributes X float32 (N, 784) and y (N,), as the course's. The real MNIST when it has been
    downloaded (`tfcs231n.data.mnist.load_mnist`), otherwise the synthetic digits.
    """

    def __init__(self, batch_size, shuffle=False):
        from tfcs231n.data.mnist import load_digits, load_mnist

        try:
            (X, y), _ = load_mnist(download_missing=False)
        except (OSError, ValueError):  # not downloaded: the synthetic digits stand in
            (X, y), _ = load_digits("synthetic")
        self.X = (np.asarray(X, np.float32) / 255).reshape(len(X), -1)
        self.y = np.asarray(y)
        self.batch_size, self.shuffle = batch_size, shuffle

    def __iter__(self):
        idxs = np.arange(self.X.shape[0])
        if self.shuffle:
            np.random.shuffle(idxs)
        B = self.batch_size
        return iter((self.X[idxs[i:i + B]], self.y[idxs[i:i + B]])
                    for i in range(0, len(idxs), B))
