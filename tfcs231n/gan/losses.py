"""The course's GAN losses: vanilla (binary cross-entropy on logits) and least squares."""

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



LOSSES = {
    "vanilla": (discriminator_loss, generator_loss),
    "lsgan": (ls_discriminator_loss, ls_generator_loss),
    "dcgan": (discriminator_loss, generator_loss),
}
