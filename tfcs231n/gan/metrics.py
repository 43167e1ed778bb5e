"""Measuring a GAN with a small digit classifier, as TF-GAN does for MNIST.

A four-layer CNN is trained (seeded, deterministic) on the same digits the GAN learns from
and cached under ``data_dir("models")``. Its penultimate layer gives features in which the
Fréchet distance between real and generated images is computed (Heusel et al. 2017's FID,
with this classifier in place of Inception), and its softmax gives the inception-style
score exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016; TF-GAN's ``classifier_score``).

Lower Fréchet distance is better (0 for identical feature statistics); the score is
between 1 (every sample the same class, or every sample ambiguous) and 10 (confident and
all ten digits equally often).

Example:
    >>> metrics = GANMetrics()               # trains or loads the classifier
    >>> metrics(G)                            # doctest: +SKIP
    {'fd': 12.3, 'is': 8.1}
    >>> train_gan(gan, data, config, metrics_fn=metrics)   # logged per epoch  # doctest: +SKIP
"""

import dataclasses
import hashlib
import json
import time

import keras
import numpy as np
import tensorflow as tf

from tfcs231n._io import save_model_cache
from tfcs231n import plotting
from tfcs231n._progress import Progress

NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """How the metric's classifier is trained; every field is part of the cache key.

    Attributes:
        source: digits to train on: "synthetic", "mnist" or a directory (`load_digits`).
        data_seed, n_train, n_test: passed to `load_digits` (the defaults share the
            GAN trainer's cached 60k/10k synthetic set).
        train_images: how many of the training images the classifier sees.
        epochs, batch_size, learning_rate: Adam training schedule.
        feature_dim: width of the penultimate layer, the Fréchet features.
        seed: weight initialisation and data order.
    """

    source: str = "synthetic"
    data_seed: int = 0
    n_train: int = 60000
    n_test: int = 10000
    train_images: int = 20000
    epochs: int = 2
    batch_size: int = 128
    learning_rate: float = 1e-3
    feature_dim: int = 64
    seed: int = 0

    def __post_init__(self):
        for name in ("n_train", "n_test", "train_images", "epochs", "batch_size",
                     "feature_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")

    def key(self):
        from tfcs231n.data.digits import VERSION

        text = json.dumps({**dataclasses.asdict(self), "digits": VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- the math


def gaussian_stats(features):
    """Mean (D,) and covariance (D, D), float64, of features (N, D) with N >= 2."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be (N, D) with N >= 2, got shape {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    |mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)). The trace of the
    matrix square root is taken as sum sqrt(eig(A sigma2 A)) with A = sigma1^(1/2): that
    matrix is symmetric positive semi-definite, so `eigh` is stable where a general
    ``sqrtm`` of the non-symmetric product can return complex round-off.

    Args:
        mu1, mu2: means (D,); sigma1, sigma2: covariances (D, D).

    Returns:
        A non-negative float (squared feature units).
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
    s1, s2 = (np.atleast_2d(np.asarray(s, np.float64)) for s in (sigma1, sigma2))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"means must be (D,) and covariances (D, D); got {mu1.shape}, "
                         f"{s1.shape}, {mu2.shape}, {s2.shape}")
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # sigma1^(1/2)
    middle = root1 @ s2 @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_root = np.sqrt(np.clip(eig, 0, None)).sum()
    value = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_root
    return float(max(value, 0.0))


def inception_score(probs):
    """exp(mean_x KL(p(y|x) || p(y))) for class probabilities (N, K) with rows summing to 1.

    No splits: TF-GAN's MNIST ``classifier_score`` averages over all samples at once.
    """
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or len(p) < 1:
        raise ValueError(f"probs must be (N, K), got shape {p.shape}")
    marginal = p.mean(0, keepdims=True)
    # 0 * log 0 = 0: classes a sample never takes contribute nothing.
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


# ----------------------------------------------------------------------------- classifier


def build_classifier(config=ClassifierConfig()):
    """(N, 784) pixels in [-1, 1] -> (N, 10) logits; its layer "features" is (N, feature_dim).

    Conv 32 3x3 ReLU -> MaxPool 2 -> Conv 64 3x3 ReLU -> MaxPool 2 -> Dense feature_dim ReLU
    -> Dense 10. Weights seeded from ``config.seed``.
    """
    seeds = iter(range(config.seed * 100, config.seed * 100 + 100))

    def init():
        return keras.initializers.HeUniform(next(seeds))

    inputs = keras.Input((784,))
    x = keras.layers.Reshape((28, 28, 1))(inputs)
    x = keras.layers.Conv2D(32, 3, activation="relu", kernel_initializer=init())(x)
    # (N, 26, 26, 32)
    x = keras.layers.MaxPooling2D(2)(x)  # (N, 13, 13, 32)
    x = keras.layers.Conv2D(64, 3, activation="relu", kernel_initializer=init())(x)
    # (N, 11, 11, 64)
    x = keras.layers.MaxPooling2D(2)(x)  # (N, 5, 5, 64)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(config.feature_dim, activation="relu",
                                  kernel_initializer=init(), name="features")(x)
    logits = keras.layers.Dense(NUM_CLASSES, kernel_initializer=init(), name="logits")(features)
    return keras.Model(inputs, logits, name="digit_classifier")


def _to_input(images):
    """uint8 (N, 28, 28) or float (N, 784) in [-1, 1] -> float32 (N, 784) in [-1, 1]."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.reshape(len(images), -1).astype(np.float32) * (2 / 255) - 1
    return images.reshape(len(images), -1).astype(np.float32)


def _load(config):
    from tfcs231n.data.mnist import load_digits

    return load_digits(config.source, seed=config.data_seed, n_train=config.n_train,
                       n_test=config.n_test)


def train_classifier(config=ClassifierConfig(), data=None, verbose=False):
    """Trains the classifier from scratch; returns (model, info) with test accuracy."""
    (x_train, y_train), (x_test, y_test) = data or _load(config)
    x = _to_input(x_train[: config.train_images])
    y = np.asarray(y_train[: config.train_images], np.int32)
    model = build_classifier(config)
    optimizer = keras.optimizers.Adam(config.learning_rate)
    variables = model.trainable_variables

    @tf.function
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=model(images, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(config.seed)
    batches = len(x) // config.batch_size
    start = time.monotonic()
    for epoch in range(config.epochs):
        order = rng.permutation(len(x))
        bar = Progress(batches, label=f"metric classifier, epoch {epoch + 1}/{config.epochs}",
                       verbose=verbose)
        for b in range(batches):
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            bar.update(b + 1, [("loss", float(step(x[idx], y[idx])))])
    logits = predict(model, _to_input(x_test))
    info = {"config": dataclasses.asdict(config),
            "test_accuracy": float(np.mean(logits.argmax(1) == y_test)),
            "train_seconds": round(time.monotonic() - start, 1)}
    return model, info


def predict(model, images, batch_size=500):
    """The model's outputs for float32 (N, 784) inputs, batched, as NumPy."""
    return np.concatenate([model(images[i:i + batch_size], training=False).numpy()
                           for i in range(0, len(images), batch_size)])


def digit_classifier(config=ClassifierConfig(), retrain=False, verbose=False):
    """The trained classifier from the cache, or trained now and cached; (model, info)."""
    from tfcs231n.data.download import data_dir

    base = data_dir("models") / f"gan-digit-classifier-{config.key()}"
    weights, meta = base.with_suffix(".weights.h5"), base.with_suffix(".json")
    if not retrain and weights.is_file() and meta.is_file():
        model = build_classifier(config)
        model.load_weights(weights)
        return model, json.loads(meta.read_text())
    model, info = train_classifier(config, verbose=verbose)
    save_model_cache(model, weights, meta, info)
    return model, info


# ----------------------------------------------------------------------------- per-epoch hook


class GANMetrics:
    """``metrics(generator) -> {"fd": float, "is": float}``, a `train_gan` ``metrics_fn``.

    Real statistics come from `n_samples` test images; generated ones from `n_samples`
    fixed-noise samples, so successive epochs are measured on the same noise.

    Attributes:
        real_fd: Fréchet distance between `n_samples` training and test images: the
            distance a perfect generator would reach with this many samples.
        real_is: the score of the real test images.
        classifier_info: the classifier's config and test accuracy.
    """

    def __init__(self, config=ClassifierConfig(), n_samples=2000, noise_dim=96, seed=0,
                 verbose=False):
        if n_samples < 2:
            raise ValueError(f"n_samples must be at least 2, got {n_samples}")
        self.classifier, self.classifier_info = digit_classifier(config, verbose=verbose)
        layer = self.classifier.get_layer("features")
        self._both = keras.Model(self.classifier.inputs[0],
                                 [layer.output, self.classifier.outputs[0]])
        (x_train, _), (x_test, _) = _load(config)
        test = _to_input(x_test[:n_samples])
        train = _to_input(x_train[-n_samples:])  # the end of the set: not in train_images
        feats, logits = self.features(test)
        self.real_stats = gaussian_stats(feats)
        self.real_is = inception_score(tf.nn.softmax(logits).numpy())
        self.real_fd = frechet_distance(*gaussian_stats(self.features(train)[0]),
                                        *self.real_stats)
        self.noise = tf.random.stateless_uniform((n_samples, noise_dim), (seed, 12345),
                                                 -1.0, 1.0)

    def features(self, images):
        """(features (N, feature_dim), logits (N, 10)) for float32 (N, 784) in [-1, 1]."""
        images = np.asarray(images, np.float32).reshape(len(images), -1)
        parts = [self._both(images[i:i + 500], training=False)
                 for i in range(0, len(images), 500)]
        return (np.concatenate([p[0].numpy() for p in parts]),
                np.concatenate([p[1].numpy() for p in parts]))

    def measure(self, images):
        """{"fd", "is"} of images (N, 784) in [-1, 1] against the real test images."""
        feats, logits = self.features(images)
        return {"fd": frechet_distance(*gaussian_stats(feats), *self.real_stats),
                "is": inception_score(tf.nn.softmax(logits).numpy())}

    def __call__(self, generator):
        images = np.concatenate([generator(self.noise[i:i + 500], training=False).numpy()
                                 for i in range(0, len(self.noise), 500)])
        return self.measure(images)


def plot_metric_curves(runs, path, key="fd", floor=None, x="steps"):
    """One line per run of a per-epoch metric; returns `path`.

    Args:
        runs: {label: history["epochs"]} as `train_gan` records them.
        key: "fd" (log scale) or "is".
        floor: a horizontal reference line, e.g. `GANMetrics.real_fd`.
        x: "steps" (training iterations), "seconds" (wall) or "cpu_seconds".
    """
    x_names = {"steps": "training iterations", "seconds": "training time (wall seconds)",
               "cpu_seconds": "training time (process CPU seconds)"}
    if x not in x_names:
        raise ValueError(f"x must be one of {sorted(x_names)}, got {x!r}")
    fig, ax = plotting.subplots(figsize=(6, 3.5))  # pyplot-free, safe under a notebook
    for label, epochs in runs.items():
        ax.plot([e[x] for e in epochs], [e[key] for e in epochs], "o-", label=label)
    if floor is not None:
        ax.axhline(floor, color="gray", ls="--", lw=1, label="real vs real")
    name = {"fd": "Fréchet distance (lower is better)",
            "is": "inception-style score (higher is better)"}.get(key, key)
    ax.set(xlabel=x_names[x], ylabel=name, yscale="log" if key == "fd" else "linear")
    ax.legend()
    ax.grid(alpha=0.3)
    return plotting.save_figure(fig, path)
