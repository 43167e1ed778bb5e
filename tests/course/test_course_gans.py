"""Generative_Adversarial_Networks_TF.ipynb (and gan_tf.py), cell by cell.

The loss checks use the answers of the course's gan-checks-tf.npz (course_values.GAN_LOSSES);
the parameter counts are the notebook's test_discriminator / test_generator answers.
"""

import numpy as np
import pytest

from tfcs231n.parity import course_values as cv
from course_checks import rel_error
from tfcs231n.course import gan_tf


def _count(model):
    return int(np.sum([np.prod(v.shape) for v in model.weights]))


def test_sample_noise_range_and_shape():
    z = gan_tf.sample_noise(3, 4).numpy()
    assert z.shape == (3, 4) and np.all((z >= -1) & (z <= 1)) and len(np.unique(z)) > 1


@pytest.mark.parametrize("make,count", [
    (gan_tf.discriminator, 267009),
    (lambda: gan_tf.generator(4), 1858320),
    (gan_tf.dc_discriminator, 1102721),
    (gan_tf.dcgan.discriminator, 1102721),  # the DCGAN cells' discriminator()
    (lambda: gan_tf.dcgan.generator(4), 6595521),  # the notebook's true_count
])
def test_parameter_counts(make, count):
    assert _count(make()) == count


@pytest.mark.parametrize("name,args", [
    ("discriminator_loss", ("logits_real", "logits_fake")),
    ("generator_loss", ("logits_fake",)),
    ("ls_discriminator_loss", ("logits_real", "logits_fake")),
    ("ls_generator_loss", ("logits_fake",)),
])
def test_losses_against_the_course_answers(name, args):
    key = {"discriminator_loss": "d_loss", "generator_loss": "g_loss",
           "ls_discriminator_loss": "ls_d_loss", "ls_generator_loss": "ls_g_loss"}[name]
    inputs = {k: np.asarray(v, np.float64) for k, v in cv.GAN_LOSSES["inputs"].items()}
    got = getattr(gan_tf, name)(*(inputs[a] for a in args)).numpy()
    # tfcs231n/parity/course_values.py: the logits are published to 8 decimals, 1.6e-9 relative.
    assert rel_error(cv.GAN_LOSSES["expected"][key], got) < 2e-9


def test_leaky_relu_and_solvers():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(gan_tf.leaky_relu(x, 0.01).numpy(), [-0.01, 0.0, 2.0])
    D_solver, G_solver = gan_tf.get_solvers()
    assert float(D_solver.learning_rate) == pytest.approx(1e-3)
    assert float(D_solver.beta_1) == pytest.approx(0.5) and D_solver is not G_solver
