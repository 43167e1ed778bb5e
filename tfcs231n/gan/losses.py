"""The GAN losses: the course's vanilla (binary cross-entropy on logits) and least squares,
and WGAN-GP's (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs")."""

import tensorflow as tf


def _bce_with_logits(logits, target):
    # max(s, 0) - s*y + log(1 + exp(-|s|)): never overflows, unlike log(sigmoid(s)).
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), tf.cast(target, logits.dtype)), logits=logits))



def discriminator_loss(logits_real, logits_fake):
    """Mean BCE(D(x), 1) + mean BCE(D(G(z)), 0), on logits; (N, 1) each -> scalar."""
    return _bce_with_logits(logits_real, 1.0) + _bce_with_logits(logits_fake, 0.0)



def generator_loss(logits_fake):
    """Mean BCE(D(G(z)), 1): the non-saturating generator loss; (N, 1) -> scalar."""
    return _bce_with_logits(logits_fake, 1.0)



def ls_discriminator_loss(scores_real, scores_fake):
    """Least-squares GAN: 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]; (N, 1) each -> scalar."""
    return (0.5 * tf.reduce_mean(tf.square(scores_real - 1.0))
            + 0.5 * tf.reduce_mean(tf.square(scores_fake)))



def ls_generator_loss(scores_fake):
    """Least-squares GAN: 0.5 E[(D(G(z)) - 1)^2]; (N, 1) -> scalar."""
    return 0.5 * tf.reduce_mean(tf.square(scores_fake - 1.0))



def wgan_critic_loss(scores_real, scores_fake):
    """WGAN's critic loss without its penalty: E[D(G(z))] - E[D(x)]; (N, 1) each -> scalar.

    Minimising it maximises the critic's estimate of the Wasserstein-1 distance.
    """
    return tf.reduce_mean(scores_fake) - tf.reduce_mean(scores_real)



def wgan_generator_loss(scores):
    """WGAN's generator loss: -E[D(G(z))]; critic scores (N, 1) -> scalar."""
    return -tf.reduce_mean(scores)



def gradient_penalty(critic, real, fake, epsilon):
    """E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = epsilon * real + (1 - epsilon) * fake.

    Args:
        critic: callable (N, 784) -> (N, 1) scores.
        real, fake: (N, 784) images.
        epsilon: (N, 1) in [0, 1): one interpolation weight per sample.

    The input gradient is taken on a tape of its own, nested in whatever tape is recording
    the caller: that outer tape then differentiates the gradient itself, so the penalty's
    weight gradient carries its second-order term (the `create_graph=True` of PyTorch).
    Each row of x_hat reaches only its own score, so the gradient of the summed scores
    holds every sample's own input gradient.
    """
    real = tf.convert_to_tensor(real)
    fake, epsilon = (tf.convert_to_tensor(t, real.dtype) for t in (fake, epsilon))
    x_hat = epsilon * real + (1.0 - epsilon) * fake  # (N, 784)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat)  # (N, 1)
    grads = tape.gradient(scores, x_hat)  # (N, 784)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1))  # (N,)
    return tf.reduce_mean(tf.square(norms - 1.0))



def penalized_critic_loss(score_loss, critic, real, fake, lambda_gp=0.0, epsilon=None):
    """``score_loss(critic(real), critic(fake)) + lambda_gp * gradient_penalty(...)``.

    The discriminator loss of every GAN here: the course's GANs have ``lambda_gp = 0`` (no
    penalty computed), WGAN-GP `wgan_critic_loss` with 10.

    Args:
        score_loss: ``(scores_real, scores_fake) -> scalar``, e.g. `discriminator_loss`.
        critic: callable (N, 784) -> (N, 1).
        real, fake: (N, 784) images.
        lambda_gp: the penalty's weight (>= 0).
        epsilon: (N, 1) interpolation weights in [0, 1); None draws them uniformly from
            TF's global generator.
    """
    if not lambda_gp:
        return score_loss(critic(real), critic(fake))
    if lambda_gp < 0:
        raise ValueError(f"lambda_gp must be >= 0, got {lambda_gp!r}")
    if epsilon is None:
        epsilon = tf.random.uniform((tf.shape(real)[0], 1), dtype=real.dtype)
    return (score_loss(critic(real), critic(fake))
            + lambda_gp * gradient_penalty(critic, real, fake, epsilon))



def wgan_gp_critic_loss(critic, real, fake, lambda_gp=10.0, epsilon=None):
    """WGAN-GP's critic loss: E[D(G(z))] - E[D(x)] + lambda_gp * `gradient_penalty`.

    Args:
        critic: callable (N, 784) -> (N, 1) scores (no batch norm: the penalty is per
            sample, and batch norm would couple the samples' gradients).
        real, fake: (N, 784) images in [-1, 1].
        lambda_gp: the penalty's weight; the paper's 10.
        epsilon: (N, 1) in [0, 1), one per sample; None draws them.

    Returns:
        A scalar.
    """
    return penalized_critic_loss(wgan_critic_loss, critic, real, fake, lambda_gp, epsilon)



# Score losses per model; WGAN-GP adds its penalty through `penalized_critic_loss`.
LOSSES = {
    "vanilla": (discriminator_loss, generator_loss),
    "lsgan": (ls_discriminator_loss, ls_generator_loss),
    "dcgan": (discriminator_loss, generator_loss),
    "wgan-gp": (wgan_critic_loss, wgan_generator_loss),
}
