"""The course's GAN API: parameter counts, closed-form losses, noise, the GAN model."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcs231n.parity import course_values
from tfcs231n.gan import models as gan
from tfcs231n.gan import losses as gan_losses
from tfcs231n.gan import weights as gan_weights


def test_parameter_counts_match_the_course():
    assert gan.discriminator().count_params() == 267_009
    assert gan.generator(4).count_params() == 1_858_320
    assert gan.dc_discriminator().count_params() == 1_102_721
    # Not stated by the issue; from the architecture: dense 96*1024+1024, BN 2*1024,
    # dense 1024*6272+6272, BN 2*6272, convT 4*4*128*64+64, BN 2*64, convT 4*4*64+1.
    trainable = (96 * 1024 + 1024 + 2 * 1024 + 1024 * 6272 + 6272 + 2 * 6272
                 + 4 * 4 * 128 * 64 + 64 + 2 * 64 + 4 * 4 * 64 + 1)
    G = gan.dc_generator()
    assert sum(int(np.prod(w.shape)) for w in G.trainable_weights) == trainable


@pytest.mark.parametrize("make,in_dim", [(gan.discriminator, 784), (gan.dc_discriminator, 784),
                                         (lambda: gan.generator(7), 7),
                                         (lambda: gan.dc_generator(7), 7)])
def test_shapes(make, in_dim):
    model = make()
    out = model(tf.zeros((3, in_dim)), training=False)
    assert out.shape == ((3, 1) if in_dim == 784 else (3, 784))


def test_generators_output_in_tanh_range():
    for G in (gan.generator(), gan.dc_generator()):
        x = G(gan.sample_noise(5, 96, seed=1), training=False).numpy()
        assert np.all(np.abs(x) <= 1.0)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_leaky_relu_closed_form(dtype):
    x = tf.constant([-2.0, -0.5, 0.0, 3.0], dtype)
    want = np.array([-0.02, -0.005, 0.0, 3.0], dtype.as_numpy_dtype)  # 0.01 in x's dtype
    np.testing.assert_array_equal(gan.leaky_relu(x).numpy(), want)
    np.testing.assert_allclose(gan.leaky_relu(x, 0.2).numpy(), [-0.4, -0.1, 0.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = gan.leaky_relu(x, 0.2)
    # Slope alpha left of 0 and at 0 itself (PyTorch's convention), 1 right of it.
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0.2, 0.2, 0.2, 1.0])


def test_losses_closed_forms():
    zeros = tf.zeros((5, 1), tf.float64)
    # sigmoid(0) = 1/2: each BCE term is log 2.
    np.testing.assert_allclose(gan_losses.discriminator_loss(zeros, zeros), 2 * math.log(2), rtol=1e-15)
    np.testing.assert_allclose(gan_losses.generator_loss(zeros), math.log(2), rtol=1e-15)
    real = tf.constant([[1.0], [3.0]], tf.float64)
    fake = tf.constant([[-1.0], [2.0]], tf.float64)
    # 0.5 * mean((1-1)^2, (3-1)^2) + 0.5 * mean(1, 4) = 1 + 1.25
    np.testing.assert_allclose(gan_losses.ls_discriminator_loss(real, fake), 2.25, rtol=1e-15)
    np.testing.assert_allclose(gan_losses.ls_generator_loss(fake), 0.5 * (4 + 1) / 2, rtol=1e-15)
    s = np.array([[-3.0], [0.5], [4.0]])
    expected = np.mean(np.log1p(np.exp(-s)))  # BCE(s, 1) = log(1 + e^-s)
    np.testing.assert_allclose(gan_losses.generator_loss(tf.constant(s)), expected, rtol=1e-14)


@pytest.mark.parametrize("name, loss_fn, args", [
    ("d_loss", gan_losses.discriminator_loss, ("logits_real", "logits_fake")),
    ("g_loss", gan_losses.generator_loss, ("logits_fake",)),
    ("ls_d_loss", gan_losses.ls_discriminator_loss, ("logits_real", "logits_fake")),
    ("ls_g_loss", gan_losses.ls_generator_loss, ("logits_fake",)),
])
def test_course_published_loss_values(name, loss_fn, args):
    # The course's logits are printed to 8 decimals, so each may be off its true value by
    # 5e-9; the loss can then be off by 5e-9 * sum|dL/dlogit| (plus float64 rounding).
    # That bound, not the course's own 1e-8 rel check, is what the published values allow.
    case = course_values.GAN_LOSSES
    inputs = [tf.constant(np.reshape(case["inputs"][a], (-1, 1)), tf.float64) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = loss_fn(*inputs)
    slope = sum(float(tf.reduce_sum(tf.abs(g))) for g in tape.gradient(loss, inputs))
    expected = case["expected"][name]
    error = abs(float(loss) - expected)
    print(f"{name}: {float(loss)!r} vs course {expected!r}, rel {error / expected:.2e}")
    assert error <= 5e-9 * slope + 1e-15 * expected


def test_bce_is_stable_for_huge_logits():
    big = tf.constant([[1000.0], [-1000.0]], tf.float32)
    d = gan_losses.discriminator_loss(big, -big).numpy()
    g = gan_losses.generator_loss(big).numpy()
    assert np.isfinite(d) and np.isfinite(g)
    # logits +-1000 on the right side cost 0; on the wrong side exactly |s|.
    np.testing.assert_allclose(d, (0 + 1000) / 2 + (1000 + 0) / 2, rtol=1e-6)
    np.testing.assert_allclose(g, 500.0, rtol=1e-6)


def test_sample_noise_range_and_seeding():
    z = gan.sample_noise(1000, 7, seed=3).numpy()
    assert z.shape == (1000, 7) and z.min() >= -1 and z.max() <= 1
    assert z.min() < -0.95 and z.max() > 0.95  # covers the interval, not [0, 1]
    np.testing.assert_array_equal(z, gan.sample_noise(1000, 7, seed=3).numpy())
    assert not np.array_equal(z, gan.sample_noise(1000, 7, seed=4).numpy())
    g1, g2 = tf.random.Generator.from_seed(5), tf.random.Generator.from_seed(5)
    np.testing.assert_array_equal(gan.sample_noise(4, 2, g1), gan.sample_noise(4, 2, g2))
    assert gan.sample_noise(0, 3).shape == (0, 3)
    for bad, name, value in (((-1, 4), "batch_size", "-1"), ((4, 2.5), "dim", "2.5"),
                             ((True, 4), "batch_size", "True")):
        with pytest.raises(ValueError, match=rf"\b{name}\b.*{value}"):
            gan.sample_noise(*bad)
    traced = tf.function(lambda x: gan.sample_noise(tf.shape(x)[0], 2, seed=(1, 2)))
    assert traced(tf.zeros((3, 1))).shape == (3, 2)  # a tensor size is left to TF


def test_bad_noise_dim():
    with pytest.raises(ValueError, match=r"\bnoise_dim\b.*\b0\b"):
        gan.generator(0)
    with pytest.raises(ValueError, match=r"\bmodel\b.*'wgan'"):
        gan.build_gan("wgan")


def test_gan_fit_uses_both_tapes_and_trackers():
    model = gan.build_gan("vanilla", noise_dim=8, seed=0)
    d_before = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    g_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    x = np.random.default_rng(0).uniform(-1, 1, (64, 784)).astype("float32")
    history = model.fit(x, batch_size=32, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(v[0]) for v in history.history.values())
    for before, w in zip(d_before, model.discriminator.trainable_weights):
        assert not np.array_equal(before, w.numpy())
    for before, w in zip(g_before, model.generator.trainable_weights):
        assert not np.array_equal(before, w.numpy())


def test_gan_config_round_trip(tmp_path):
    model = gan.GAN(gan.dc_discriminator(), gan.dc_generator(12), noise_dim=12, seed=3)
    clone = gan.GAN.from_config(model.get_config())
    assert clone.noise_dim == 12 and clone.seed == 3
    assert clone.generator.count_params() == model.generator.count_params()
    layer = gan.LeakyReLU(0.2)
    assert keras.layers.deserialize(keras.layers.serialize(layer)).alpha == 0.2


def test_load_torch_state_rejects_mismatch():
    with pytest.raises(ValueError, match="layers with weights"):
        gan_weights.load_torch_state(gan.discriminator(), {"0.weight": np.zeros((256, 784)),
                                                   "0.bias": np.zeros(256)})


def test_wgan_losses_known_answers():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[-2.0], [0.0]])
    assert float(gan_losses.wgan_critic_loss(real, fake)) == -1.0 - 2.0
    assert float(gan_losses.wgan_generator_loss(fake)) == 1.0


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = x.w + b has input gradient w everywhere: penalty (|w| - 1)^2, and its
    gradient with respect to w, 2 (|w| - 1) w / |w|, exists only through the nested tape."""
    w = np.random.default_rng(0).normal(size=(784, 1)) * 0.1  # |w| about 2.8
    critic = keras.Sequential([keras.Input((784,), dtype="float64"),
                               keras.layers.Dense(1, dtype="float64")])
    critic.set_weights([w, np.array([0.5])])
    rng = np.random.default_rng(1)
    real, fake = rng.uniform(-1, 1, (2, 5, 784))
    epsilon = rng.uniform(0, 1, (5, 1))
    norm = np.linalg.norm(w)
    with tf.GradientTape() as tape:
        penalty = gan_losses.gradient_penalty(critic, real, fake, epsilon)
    kernel_grad, bias_grad = tape.gradient(penalty, critic.trainable_weights)
    np.testing.assert_allclose(float(penalty), (norm - 1) ** 2, rtol=1e-12)
    np.testing.assert_allclose(kernel_grad.numpy(), 2 * (norm - 1) * w / norm, rtol=1e-10)
    assert bias_grad is None  # the input gradient does not depend on b
    loss = gan_losses.wgan_gp_critic_loss(critic, real, fake, 10.0, epsilon)
    scores = critic(real).numpy().mean() - critic(fake).numpy().mean()
    np.testing.assert_allclose(float(loss), -scores + 10 * (norm - 1) ** 2, rtol=1e-12)


def test_wgan_gp_arguments_are_checked():
    critic = gan.dc_critic()
    x = np.zeros((2, 784), np.float32)
    with pytest.raises(ValueError, match=r"\blambda_gp\b.*-1"):
        gan_losses.penalized_critic_loss(gan_losses.wgan_critic_loss, critic, x, x, -1.0)
    with pytest.raises(ValueError, match=r"\bn_critic\b.*0"):
        gan.GAN(critic, gan.dc_generator(8), 8, n_critic=0)
    with pytest.raises(ValueError, match=r"\blambda_gp\b.*-2"):
        gan.GAN(critic, gan.dc_generator(8), 8, lambda_gp=-2.0)
    with pytest.raises(ValueError, match=r"\bbeta3\b"):
        gan.build_gan("wgan-gp", noise_dim=8, beta3=0.1)


def test_build_wgan_gp_uses_the_papers_settings():
    model = gan.build_gan("wgan-gp", noise_dim=8, seed=0)
    assert model.n_critic == 5 and model.lambda_gp == 10.0
    assert model.discriminator.name == "dc_critic"
    assert model.discriminator.count_params() == 1_102_721
    for opt in (model.d_optimizer, model.g_optimizer):
        assert np.isclose(float(opt.learning_rate), 1e-4)
        assert (opt.beta_1, opt.beta_2) == (0.0, 0.9)
    assert model.d_loss_fn is gan_losses.wgan_critic_loss
    clone = gan.GAN.from_config(model.get_config())
    assert (clone.n_critic, clone.lambda_gp) == (5, 10.0)


def test_wgan_gp_fit_on_plain_images_updates_both_networks():
    model = gan.build_gan("wgan-gp", noise_dim=8, seed=0)
    before = [w.numpy().copy() for w in model.trainable_weights]
    x = np.random.default_rng(0).uniform(-1, 1, (16, 784)).astype("float32")
    history = model.fit(x, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    unchanged = [w.path for b, w in zip(before, model.trainable_weights)
                 if np.array_equal(b, w.numpy())]
    # E[D(G(z))] - E[D(x)] cancels the critic's output bias, and the penalty ignores it.
    assert unchanged == [model.discriminator.trainable_weights[-1].path]
    assert int(model.d_optimizer.iterations) == 2 * 5  # two batches, five critic steps each
