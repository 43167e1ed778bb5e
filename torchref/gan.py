"""PyTorch reference for the course's GANs: losses, the three architectures, one training step.

Written from the course's PyTorch notebook (GANs-PyTorch.ipynb), independently of tfcs231n.
Images are flattened 784-vectors in [-1, 1]; convolutions work in NCHW, so flattening and
unflattening use PyTorch's (C, H, W) order (Keras flattens (H, W, C): the parity tests
permute the affected weights).

Batch norm: PyTorch defaults to eps=1e-5, momentum=0.1; the course's TensorFlow notebook
uses Keras's defaults (eps=1e-3, momentum=0.99, i.e. PyTorch momentum 0.01), which are the
defaults here so the two can be compared.
"""

import torch
import torch.nn.functional as F
from torch import nn

NOISE_DIM = 96


def sample_noise(batch_size, dim, generator=None, dtype=torch.float32):
    """Uniform noise in [-1, 1], shape (batch_size, dim)."""
    return 2 * torch.rand(batch_size, dim, generator=generator, dtype=dtype) - 1


def discriminator_loss(logits_real, logits_fake):
    """Mean BCE of real logits against 1 plus mean BCE of fake logits against 0; scalar."""
    real = F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
    fake = F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
    return real + fake


def generator_loss(logits_fake):
    """Mean BCE of fake logits against 1 (the non-saturating loss); scalar."""
    return F.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))


def ls_discriminator_loss(scores_real, scores_fake):
    """Least-squares GAN: 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]."""
    return 0.5 * ((scores_real - 1) ** 2).mean() + 0.5 * (scores_fake ** 2).mean()


def ls_generator_loss(scores_fake):
    """Least-squares GAN: 0.5 E[(D(G(z)) - 1)^2]."""
    return 0.5 * ((scores_fake - 1) ** 2).mean()


def discriminator():
    """784 -> 256 -> 256 -> 1 with LeakyReLU(0.01); 267,009 parameters."""
    return nn.Sequential(
        nn.Linear(784, 256), nn.LeakyReLU(0.01),
        nn.Linear(256, 256), nn.LeakyReLU(0.01),
        nn.Linear(256, 1),
    )


def generator(noise_dim=NOISE_DIM):
    """noise_dim -> 1024 -> 1024 -> 784 with ReLU, ReLU, tanh."""
    return nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(),
        nn.Linear(1024, 1024), nn.ReLU(),
        nn.Linear(1024, 784), nn.Tanh(),
    )


def dc_discriminator():
    """Conv(32,5) LReLU MaxPool Conv(64,5) LReLU MaxPool FC(1024) LReLU FC(1), valid padding."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),  # (N, 32, 12, 12)
        nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),  # (N, 64, 4, 4)
        nn.Flatten(),  # (C, H, W) order
        nn.Linear(4 * 4 * 64, 4 * 4 * 64), nn.LeakyReLU(0.01),
        nn.Linear(4 * 4 * 64, 1),
    )


def dc_generator(noise_dim=NOISE_DIM, eps=1e-3, momentum=0.01):
    """InfoGAN's MNIST generator: FC 1024, FC 7*7*128, two 4x4 stride-2 transposed convs.

    ReLU then batch norm after every layer but the last, tanh at the end; output (N, 784).
    """
    return nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024, eps, momentum),
        nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128, eps, momentum),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(),  # (N, 64, 14, 14)
        nn.BatchNorm2d(64, eps, momentum),
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),  # (N, 1, 28, 28)
        nn.Flatten(),
    )


def get_optimizer(model, learning_rate=1e-3, beta1=0.5, beta2=0.999, keras_eps=1e-7):
    """Adam as the course's TensorFlow notebook sets it (Keras's Adam, epsilon 1e-7).

    Keras adds its epsilon to sqrt(v_hat * (1 - beta2^t)), PyTorch to sqrt(v_hat), so
    PyTorch's eps is Keras's / sqrt(1 - beta2): the two updates agree exactly at step 1
    and nearly after (Keras's effective eps shrinks towards this one as beta2^t -> 0).
    """
    eps = keras_eps / (1 - beta2) ** 0.5
    return torch.optim.Adam(model.parameters(), lr=learning_rate, betas=(beta1, beta2),
                            eps=eps)


def gan_step(D, G, D_solver, G_solver, real, z_d, z_g, d_loss_fn=discriminator_loss,
             g_loss_fn=generator_loss):
    """One course iteration: a discriminator update, then a generator update.

    Args:
        real: (N, 784) images in [-1, 1].
        z_d, z_g: (N, noise_dim) noise for the D step and the G step.

    Returns:
        (d_loss, g_loss) as Python floats, computed before each update.
    """
    D_solver.zero_grad()
    fake = G(z_d).detach()  # the generator is not updated by the discriminator's loss
    d_loss = d_loss_fn(D(real), D(fake))
    d_loss.backward()
    D_solver.step()

    G_solver.zero_grad()
    g_loss = g_loss_fn(D(G(z_g)))
    g_loss.backward()
    G_solver.step()
    return d_loss.item(), g_loss.item()


def count_params(model):
    return sum(p.numel() for p in model.parameters())
