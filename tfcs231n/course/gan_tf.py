"""The course's `cs231n/gan_tf.py` over `tfcs231n.gan`.

Everything the course's module defines, under its names: the losses, the vanilla and
DCGAN networks (`dc_discriminator` / `dc_generator`, and `dcgan.discriminator()` /
`dcgan.generator()`, the names the earlier notebook gives them in its DCGAN cells),
`get_solvers`, `run_a_gan`, `MNIST`, `preprocess_img` / `deprocess_img`. Offline, `MNIST`
serves the synthetic digits (`tfcs231n.data.mnist.load_digits`).
"""

import types

import numpy as np

from tfcs231n.gan import losses, models
from tfcs231n.gan.models import NOISE_DIM, deprocess_img, preprocess_img
from tfcs231n.gan.training import run_a_gan

__all__ = ["NOISE_DIM", "leaky_relu", "sample_noise", "discriminator", "generator",
           "discriminator_loss", "generator_loss", "get_solvers", "ls_discriminator_loss",
           "ls_generator_loss", "dc_discriminator", "dc_generator", "run_a_gan", "MNIST",
           "preprocess_img", "deprocess_img", "dcgan"]

# The functions the course's students write, each a call into `tfcs231n.gan` between the
# solution markers that `tfcs231n assignment build` turns into stubs.


def leaky_relu(x, alpha=0.01):
    """x where x > 0, else alpha * x; any shape -> same shape (a tensor)."""
    ### BEGIN SOLUTION
    return models.leaky_relu(x, alpha)
    ### END SOLUTION


def sample_noise(batch_size, dim, seed=None):
    """Uniform noise in [-1, 1], float32 (batch_size, dim)."""
    ### BEGIN SOLUTION
    return models.sample_noise(batch_size, dim, seed)
    ### END SOLUTION


def discriminator(seed=None):
    """784 -> Dense 256 -> LeakyReLU(0.01) -> Dense 256 -> LeakyReLU(0.01) -> Dense 1, as a
    keras.Sequential: images (N, 784) -> logits (N, 1); 267,009 parameters."""
    ### BEGIN SOLUTION
    return models.discriminator(seed)
    ### END SOLUTION


def generator(noise_dim=NOISE_DIM, seed=None):
    """noise_dim -> Dense 1024 ReLU -> Dense 1024 ReLU -> Dense 784 tanh, as a
    keras.Sequential: noise (N, noise_dim) -> images (N, 784) in [-1, 1]."""
    ### BEGIN SOLUTION
    return models.generator(noise_dim, seed)
    ### END SOLUTION


def discriminator_loss(logits_real, logits_fake):
    """Mean BCE(D(x), 1) + mean BCE(D(G(z)), 0) on logits (N, 1) each -> scalar."""
    ### BEGIN SOLUTION
    return losses.discriminator_loss(logits_real, logits_fake)
    ### END SOLUTION


def generator_loss(logits_fake):
    """Mean BCE(D(G(z)), 1) on logits (N, 1) -> scalar."""
    ### BEGIN SOLUTION
    return losses.generator_loss(logits_fake)
    ### END SOLUTION


def get_solvers(learning_rate=1e-3, beta1=0.5):
    """(D_solver, G_solver): two Adam optimizers, learning rate 1e-3, beta1 0.5."""
    ### BEGIN SOLUTION
    return models.get_solvers(learning_rate, beta1)
    ### END SOLUTION


def ls_discriminator_loss(scores_real, scores_fake):
    """0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2] on scores (N, 1) each -> scalar."""
    ### BEGIN SOLUTION
    return losses.ls_discriminator_loss(scores_real, scores_fake)
    ### END SOLUTION


def ls_generator_loss(scores_fake):
    """0.5 E[(D(G(z)) - 1)^2] on scores (N, 1) -> scalar."""
    ### BEGIN SOLUTION
    return losses.ls_generator_loss(scores_fake)
    ### END SOLUTION


def dc_discriminator(seed=None):
    """The DCGAN discriminator as a keras.Sequential: (N, 784) -> logits (N, 1); Reshape
    (28, 28, 1), Conv 32 5x5 valid, LeakyReLU, MaxPool 2, Conv 64 5x5 valid, LeakyReLU,
    MaxPool 2, Flatten, Dense 1024, LeakyReLU, Dense 1; 1,102,721 parameters."""
    ### BEGIN SOLUTION
    return models.dc_discriminator(seed)
    ### END SOLUTION


def dc_generator(noise_dim=NOISE_DIM, seed=None):
    """The DCGAN generator as a keras.Sequential: (N, noise_dim) -> (N, 784) in [-1, 1];
    Dense 1024 ReLU BN, Dense 7*7*128 ReLU BN, Reshape (7, 7, 128), Conv2DTranspose 64 4x4/2
    same ReLU BN, Conv2DTranspose 1 4x4/2 same tanh, Flatten."""
    ### BEGIN SOLUTION
    return models.dc_generator(noise_dim, seed)
    ### END SOLUTION


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
