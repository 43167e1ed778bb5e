"""PyTorch reference for the course's GANs: losses, the three architectures, one training step;
and WGAN-GP (Gulrajani et al. 2017): its critic loss with the gradient penalty, one iteration.

Written from the course's PyTorch notebook (GANs-PyTorch.ipynb) and the WGAN-GP paper
(Algorithm 1), independently of tfcs231n.
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


def wgan_critic_loss(scores_real, scores_fake):
    """E[D(G(z))] - E[D(x)]: WGAN's critic loss before its penalty."""
    return scores_fake.mean() - scores_real.mean()


def wgan_generator_loss(scores):
    """-E[D(G(z))]."""
    return -scores.mean()


def gradient_penalty(critic, real, fake, epsilon):
    """E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat = epsilon * real + (1 - epsilon) * fake.

    real, fake (N, 784); epsilon (N, 1). create_graph=True keeps the input gradient in the
    graph, so a backward pass through the penalty reaches the weights (second order).
    """
    x_hat = epsilon * real + (1 - epsilon) * fake
    if not x_hat.requires_grad:  # real and fake are constants in the critic's step
        x_hat.requires_grad_()
    scores = critic(x_hat)
    (grads,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grads.pow(2).sum(dim=1).sqrt() - 1) ** 2).mean()


def wgan_gp_critic_loss(critic, real, fake, lambda_gp=10.0, epsilon=None):
    """WGAN-GP's critic loss: E[D(G(z))] - E[D(x)] + lambda_gp * gradient penalty.

    epsilon: (N, 1) in [0, 1); None draws it from torch's global generator.
    """
    if epsilon is None:
        epsilon = torch.rand(real.shape[0], 1, dtype=real.dtype)
    return (wgan_critic_loss(critic(real), critic(fake))
            + lambda_gp * gradient_penalty(critic, real, fake, epsilon))


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


def dc_critic():
    """WGAN-GP's critic: the DC discriminator (it has no batch norm to drop), scores out."""
    return dc_discriminator()


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


class KerasAdam(torch.optim.Adam):
    """Adam whose epsilon is added where Keras adds it: to sqrt(v_hat * (1 - beta2^t)).

    PyTorch adds its epsilon to sqrt(v_hat), so Keras's update is PyTorch's with eps_t =
    keras_eps / sqrt(1 - beta2^t), set before every step here; the two agree at every step,
    not only the first (which matters once one optimizer steps several times per
    comparison, as WGAN-GP's critic does).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), keras_eps=1e-7):
        super().__init__(params, lr=lr, betas=betas, eps=keras_eps)
        self.keras_eps = keras_eps
        self.steps = 0

    @torch.no_grad()
    def step(self, closure=None):
        self.steps += 1
        for group in self.param_groups:
            group["eps"] = self.keras_eps / (1 - group["betas"][1] ** self.steps) ** 0.5
        return super().step(closure)


def get_optimizer(model, learning_rate=1e-3, beta1=0.5, beta2=0.999, keras_eps=1e-7):
    """Adam as the course's TensorFlow notebook sets it (Keras's Adam, epsilon 1e-7)."""
    return KerasAdam(model.parameters(), lr=learning_rate, betas=(beta1, beta2),
                     keras_eps=keras_eps)


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


def wgan_gp_step(D, G, D_solver, G_solver, reals, z_ds, epsilons, z_g, lambda_gp=10.0):
    """One WGAN-GP iteration (the paper's Algorithm 1): k critic updates, one generator update.

    Args:
        reals: (N, k, 784) images in [-1, 1], batch j for critic update j.
        z_ds: (N, k, noise_dim) noise for the critic updates.
        epsilons: (N, k, 1) interpolation weights in [0, 1).
        z_g: (N, noise_dim) noise for the generator update.

    Returns:
        (last critic loss, generator loss) as Python floats, each before its update.
    """
    for j in range(reals.shape[1]):
        d_loss = wgan_gp_critic_step(D, G, D_solver, reals[:, j], z_ds[:, j], epsilons[:, j],
                                     lambda_gp)
    G_solver.zero_grad()
    g_loss = wgan_generator_loss(D(G(z_g)))
    g_loss.backward()
    G_solver.step()
    return d_loss, g_loss.item()


def wgan_gp_critic_step(D, G, D_solver, real, z_d, epsilon, lambda_gp=10.0):
    """One critic update on real (N, 784), noise z_d (N, noise_dim) and epsilon (N, 1);
    the loss before the update, as a Python float."""
    D_solver.zero_grad()
    fake = G(z_d).detach()  # the generator is not updated by the critic's loss
    d_loss = wgan_gp_critic_loss(D, real, fake, lambda_gp, epsilon)
    d_loss.backward()
    D_solver.step()
    return d_loss.item()


def count_params(model):
    return sum(p.numel() for p in model.parameters())
