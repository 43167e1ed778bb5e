"""The GAN metrics: Fréchet distance and inception score against closed forms, and the
cached deterministic classifier behind them."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from tfcs231n.gan import metrics as gm
from tfcs231n.gan import training as gt

# A classifier small enough to train in a few seconds; the real one sees 20k images.
TINY = gm.ClassifierConfig(n_train=3500, n_test=500, train_images=3000, epochs=2,
                           batch_size=64, feature_dim=16)


def _random_cov(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_distance_one_dimension():
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2.
    actual = gm.frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]])
    np.testing.assert_allclose(actual, 9.0 + 1.0, rtol=1e-12)


def test_frechet_distance_commuting_covariances():
    # Same eigenvectors: sum (sqrt(a_i) - sqrt(b_i))^2 plus the squared mean distance.
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a, b = rng.uniform(0.1, 5, 6), rng.uniform(0.1, 5, 6)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    desired = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    actual = gm.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    np.testing.assert_allclose(actual, desired, rtol=1e-10)


def test_frechet_distance_matches_sqrtm_formula():
    rng = np.random.default_rng(1)
    s1, s2 = _random_cov(rng, 8), _random_cov(rng, 8)
    mu1, mu2 = rng.standard_normal(8), rng.standard_normal(8)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    desired = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * root)
    np.testing.assert_allclose(gm.frechet_distance(mu1, s1, mu2, s2), desired, rtol=1e-9)
    assert gm.frechet_distance(mu1, s1, mu1, s1) < 1e-9 * np.trace(s1)
    # Symmetric in its two arguments.
    np.testing.assert_allclose(gm.frechet_distance(mu2, s2, mu1, s1),
                               gm.frechet_distance(mu1, s1, mu2, s2), rtol=1e-10)


def test_frechet_distance_of_samples():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20000, 3))
    shift = np.array([3.0, 0.0, 4.0])
    y = rng.standard_normal((20000, 3)) + shift
    assert abs(gm.frechet_distance(*gm.gaussian_stats(x), *gm.gaussian_stats(y)) - 25) < 0.2
    with pytest.raises(ValueError, match=r"\bfeatures\b.*\(1, 3\)"):
        gm.gaussian_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3, 3\)"):
        gm.frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


def test_inception_score_known_answers():
    eye = np.eye(10)
    confident_all_classes = np.repeat(eye, 7, axis=0)
    np.testing.assert_allclose(gm.inception_score(confident_all_classes), 10.0, rtol=1e-12)
    np.testing.assert_allclose(gm.inception_score(np.repeat(eye[:2], 5, axis=0)), 2.0,
                               rtol=1e-12)
    constant = np.tile(np.linspace(1, 2, 10) / np.linspace(1, 2, 10).sum(), (50, 1))
    np.testing.assert_allclose(gm.inception_score(constant), 1.0, rtol=1e-12)
    np.testing.assert_allclose(gm.inception_score(np.tile(eye[3], (9, 1))), 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match=r"\bprobs\b.*\(10,\)"):
        gm.inception_score(np.ones(10) / 10)


def test_classifier_is_cached_and_deterministic():
    model, info = gm.digit_classifier(TINY)
    assert info["test_accuracy"] > 0.6, info  # chance is 0.1
    cached, again = gm.digit_classifier(TINY)
    assert again == info
    for a, b in zip(model.weights, cached.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    retrained, _ = gm.train_classifier(TINY)
    for a, b in zip(model.weights, retrained.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert model.get_layer("features").output.shape[-1] == TINY.feature_dim
    with pytest.raises(ValueError, match=r"\bepochs\b.*\b0\b"):
        gm.ClassifierConfig(epochs=0)


def test_metrics_separate_real_from_degenerate_samples():
    metrics = gm.GANMetrics(TINY, n_samples=400, noise_dim=8)
    (_, _), (x_test, _) = gm._load(TINY)
    real = gm._to_input(x_test[100:500])  # other test images than the reference's first 400

    def copier(z, training=False):
        return tf.constant(real[:len(z)])

    def constant(z, training=False):
        return tf.tile(tf.constant(real[:1]), (len(z), 1))

    good, bad = metrics(copier), metrics(constant)
    assert good["fd"] < 4 * metrics.real_fd + 1.0, (good, metrics.real_fd)
    assert bad["fd"] > 10 * good["fd"]
    # The tiny classifier is unsure of itself, so even real digits score well below 10.
    assert good["is"] > 0.8 * metrics.real_is and metrics.real_is > 3
    np.testing.assert_allclose(bad["is"], 1.0, rtol=1e-6)


def test_metrics_are_logged_per_epoch(tmp_path):
    metrics = gm.GANMetrics(TINY, n_samples=200, noise_dim=8)
    data = gm._load(TINY)[0][0]
    config = gt.GANConfig(model="vanilla", batch_size=32, num_epochs=2, noise_dim=8,
                          steps_per_epoch=3)
    _, result = gt.train(config, data, metrics_fn=metrics, log_dir=tmp_path / "tb", verbose=0)
    epochs = result["history"]["epochs"]
    assert len(epochs) == 2
    assert all(np.isfinite(e["fd"]) and e["is"] >= 1.0 for e in epochs)
    tags = {}
    for path in (tmp_path / "tb").iterdir():
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(float(tf.make_ndarray(value.tensor)))
    # TensorBoard sees the same numbers, stored as float32.
    np.testing.assert_allclose(tags["epoch/fd"], [e["fd"] for e in epochs], rtol=1e-6)
    np.testing.assert_allclose(tags["d_loss"], result["history"]["d_loss"], rtol=1e-6)
