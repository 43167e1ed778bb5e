"""The course's GANs in TensorFlow: vanilla GAN, least-squares GAN and DCGAN.

Public names follow the course's GANs-TensorFlow notebook. Images are flattened
784-vectors in [-1, 1] (`preprocess_img` maps [0, 1] pixels there). The loss math lives once
in the functions below; the `GAN` model, `run_a_gan`, the trainer in
`tfcs231n.gan.training`, the CLI and the notebook all call them.

Departures from the course, each for a reason:
- networks are always called with an explicit ``training=`` flag: the course calls
  ``G(z)`` bare, which in Keras runs batch norm in inference mode throughout training;
- the discriminator's step uses its own noise and the generator's step new noise, both
  drawn from a seeded generator, so a run is reproducible and resumable.

Example:
    >>> D, G = dc_discriminator(), dc_generator()
    >>> gan = GAN(D, G)
    >>> gan.compile(*get_solvers())
    >>> gan.fit(real_images, batch_size=128, epochs=1)  # doctest: +SKIP
"""

import keras
import numpy as np
import tensorflow as tf

from tfcs231n.gan.losses import LOSSES, discriminator_loss, generator_loss

NOISE_DIM = 96
IMAGE_DIM = 784  # 28 * 28, flattened as the course does


# ----------------------------------------------------------------------------- course API


def leaky_relu(x, alpha=0.01):
    """x where x > 0, else alpha * x (= max(x, alpha * x) for alpha < 1); any shape.

    The gradient at exactly 0 is alpha, as in PyTorch.
    """
    x = tf.convert_to_tensor(x)
    if x.dtype == tf.float32:
        # One fused op with a fused gradient: measured 7-15 % off a whole DCGAN step
        # against max(), whose gradient takes a compare and two selects per element.
        return _fused_leaky_relu(x, alpha)
    # tf.nn.leaky_relu keeps alpha as a float32 attribute (0.009999999776 for 0.01), which
    # float64 parity would notice.
    return tf.where(x > 0, x, alpha * x)


def _fused_leaky_relu(x, alpha):
    """tf.nn.leaky_relu whose gradient reads the op's output, not its input.

    TF's own gradient feeds LeakyReluGrad the input, e.g. a conv's BiasAdd; grappler's
    remapper then cannot fuse Conv2D+BiasAdd+LeakyRelu (the BiasAdd would vanish under the
    gradient) and logs "remapper failed ... LeakyReluGrad" for every training graph. The
    output has the input's sign (alpha >= 0), so the gradient is the same bit for bit; Relu's
    gradient reads its output for the same reason.
    """

    @tf.custom_gradient
    def fused(x):
        y = tf.nn.leaky_relu(x, alpha)

        def grad(dy):
            return tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=alpha)

        return y, grad

    return fused(x)


def sample_noise(batch_size, dim, seed=None):
    """Uniform noise in [-1, 1] of shape (batch_size, dim), float32.

    Args:
        seed: None for TF's global generator (the course), an int, a pair of ints (a
            stateless seed: the same pair always gives the same noise), or a
            `tf.random.Generator`.
    """
    for name, value in (("batch_size", batch_size), ("dim", dim)):
        if not tf.is_tensor(value) and (not isinstance(value, (int, np.integer))
                                        or isinstance(value, bool) or value < 0):
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    shape = (batch_size, dim)
    if seed is None:
        return tf.random.uniform(shape, -1.0, 1.0)
    if isinstance(seed, tf.random.Generator):
        return seed.uniform(shape, -1.0, 1.0)
    pair = (seed, 0) if np.ndim(seed) == 0 else seed
    return tf.random.stateless_uniform(shape, seed=pair, minval=-1.0, maxval=1.0)


def preprocess_img(x):
    """[0, 1] pixels -> [-1, 1], the generator's tanh range."""
    return 2.0 * x - 1.0


def deprocess_img(x):
    """[-1, 1] -> [0, 1]."""
    return (x + 1.0) / 2.0


@keras.saving.register_keras_serializable(package="tfcs231n")
class LeakyReLU(keras.layers.Layer):
    """`leaky_relu` as a layer; any shape in, same shape out.

    Keras's own LeakyReLU always goes through `tf.nn.leaky_relu`, whose slope is a float32
    attribute, so in float64 it computes with 0.009999999776 instead of 0.01;
    `leaky_relu` uses it for float32 only.
    """

    def __init__(self, alpha=0.01, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must be in [0, 1), got {alpha!r}")
        self.alpha = float(alpha)

    def call(self, x):
        return leaky_relu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def discriminator(seed=None):
    """784 -> Dense 256 -> LeakyReLU -> Dense 256 -> LeakyReLU -> Dense 1; 267,009 params.

    Input (N, 784) in [-1, 1]; output (N, 1) logits.
    """
    init = _init(seed)
    return keras.Sequential([
        keras.Input((IMAGE_DIM,)),
        keras.layers.Dense(256, kernel_initializer=init()), LeakyReLU(0.01),
        keras.layers.Dense(256, kernel_initializer=init()), LeakyReLU(0.01),
        keras.layers.Dense(1, kernel_initializer=init()),
    ], name="discriminator")


def generator(noise_dim=NOISE_DIM, seed=None):
    """noise_dim -> Dense 1024 ReLU -> Dense 1024 ReLU -> Dense 784 tanh.

    Input (N, noise_dim); output (N, 784) in [-1, 1]. 1,858,320 params for noise_dim=4.
    """
    _check_noise_dim(noise_dim)
    init = _init(seed)
    return keras.Sequential([
        keras.Input((noise_dim,)),
        keras.layers.Dense(1024, activation="relu", kernel_initializer=init()),
        keras.layers.Dense(1024, activation="relu", kernel_initializer=init()),
        keras.layers.Dense(IMAGE_DIM, activation="tanh", kernel_initializer=init()),
    ], name="generator")


def dc_discriminator(seed=None):
    """The course's DCGAN discriminator; 1,102,721 params.

    Reshape (28, 28, 1) -> Conv 32 5x5 valid -> LeakyReLU -> MaxPool 2 -> Conv 64 5x5 valid
    -> LeakyReLU -> MaxPool 2 -> Flatten (4*4*64) -> Dense 1024 -> LeakyReLU -> Dense 1.
    Input (N, 784); output (N, 1) logits.
    """
    init = _init(seed)
    return keras.Sequential([
        keras.Input((IMAGE_DIM,)),
        keras.layers.Reshape((28, 28, 1)),
        keras.layers.Conv2D(32, 5, kernel_initializer=init()),  # (N, 24, 24, 32)
        LeakyReLU(0.01),
        keras.layers.MaxPooling2D(2, 2),  # (N, 12, 12, 32)
        keras.layers.Conv2D(64, 5, kernel_initializer=init()),  # (N, 8, 8, 64)
        LeakyReLU(0.01),
        keras.layers.MaxPooling2D(2, 2),  # (N, 4, 4, 64)
        keras.layers.Flatten(),  # (N, 1024), (H, W, C) order
        keras.layers.Dense(4 * 4 * 64, kernel_initializer=init()),
        LeakyReLU(0.01),
        keras.layers.Dense(1, kernel_initializer=init()),
    ], name="dc_discriminator")


def dc_generator(noise_dim=NOISE_DIM, seed=None, synchronized=False):
    """InfoGAN's MNIST generator as the course specifies it.

    Dense 1024 ReLU BN -> Dense 7*7*128 ReLU BN -> Reshape (7, 7, 128) -> Conv2DTranspose
    64 4x4/2 same ReLU BN -> Conv2DTranspose 1 4x4/2 same tanh -> Flatten.
    Input (N, noise_dim); output (N, 784) in [-1, 1]. Batch norm uses Keras's defaults
    (eps 1e-3, momentum 0.99), as the course's notebook does.

    Args:
        synchronized: batch statistics over the global batch under a distribution strategy
            (what one device would compute; the trainer sets it with several replicas).
            Off by default: Keras computes synchronized variance as E[x^2] - E[x]^2, which
            in float32 loses digits that `tf.nn.moments` keeps (the float32 parity step
            test fails with it on one device).
    """
    _check_noise_dim(noise_dim)
    init = _init(seed)

    def batch_norm():
        return keras.layers.BatchNormalization(synchronized=synchronized)

    return keras.Sequential([
        keras.Input((noise_dim,)),
        keras.layers.Dense(1024, activation="relu", kernel_initializer=init()),
        batch_norm(),
        keras.layers.Dense(7 * 7 * 128, activation="relu", kernel_initializer=init()),
        batch_norm(),
        keras.layers.Reshape((7, 7, 128)),
        keras.layers.Conv2DTranspose(64, 4, strides=2, padding="same", activation="relu",
                                     kernel_initializer=init()),  # (N, 14, 14, 64)
        batch_norm(),
        keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh",
                                     kernel_initializer=init()),  # (N, 28, 28, 1)
        keras.layers.Flatten(),
    ], name="dc_generator")


ARCHITECTURES = {
    "vanilla": (discriminator, generator),
    "lsgan": (discriminator, generator),
    "dcgan": (dc_discriminator, dc_generator),
}


def get_solvers(learning_rate=1e-3, beta1=0.5):
    """Two Adam optimizers (discriminator's, generator's) with the course's settings."""
    return (keras.optimizers.Adam(learning_rate, beta_1=beta1),
            keras.optimizers.Adam(learning_rate, beta_1=beta1))


def _init(seed):
    """Glorot-uniform initialisers, seeded one after another when `seed` is given."""
    counter = iter(range(1000))
    return lambda: keras.initializers.GlorotUniform(
        None if seed is None else seed * 1000 + next(counter))


def _check_noise_dim(noise_dim):
    if isinstance(noise_dim, bool) or not isinstance(noise_dim, (int, np.integer)) \
            or noise_dim < 1:
        raise ValueError(f"noise_dim must be a positive int, got {noise_dim!r}")


# ----------------------------------------------------------------------------- model


@keras.saving.register_keras_serializable(package="tfcs231n")
class GAN(keras.Model):
    """A discriminator and a generator trained in alternation with two gradient tapes.

    `train_step` (used by `fit`) takes real images (N, 784) in [-1, 1], or a tuple
    ``(real, z_d, z_g)`` carrying the noise for both steps (the trainer passes noise so
    that runs are reproducible under any distribution strategy). Calling the model
    generates: ``gan(z)`` -> (N, 784) in [-1, 1].

    Args:
        discriminator: a Keras model (N, 784) -> (N, 1) logits or scores.
        generator: a Keras model (N, noise_dim) -> (N, 784).
        noise_dim: the generator's input size.
        seed: seeds the noise `train_step` draws when none is passed.
    """

    def __init__(self, discriminator, generator, noise_dim=NOISE_DIM, seed=0, **kwargs):
        super().__init__(**kwargs)
        _check_noise_dim(noise_dim)
        self.discriminator = discriminator
        self.generator = generator
        self.noise_dim = int(noise_dim)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer=None, g_optimizer=None, d_loss_fn=discriminator_loss,
                g_loss_fn=generator_loss, **kwargs):
        super().compile(**kwargs)
        if d_optimizer is None or g_optimizer is None:
            d_optimizer, g_optimizer = get_solvers()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.d_loss_fn, self.g_loss_fn = d_loss_fn, g_loss_fn

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def gan_step(self, real, z_d, z_g):
        """One discriminator update, then one generator update; returns (d_loss, g_loss).

        Args:
            real: (N, 784) float in [-1, 1].
            z_d, z_g: (N, noise_dim) noise for the two steps.

        Under a distribution strategy each replica's loss is divided by the number of
        replicas, because the optimizers sum the replicas' gradients.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        D, G = self.discriminator, self.generator
        with tf.GradientTape() as tape:
            fake = G(z_d, training=True)
            d_loss = self.d_loss_fn(D(real, training=True), D(fake, training=True))
            scaled = d_loss / replicas
        grads = tape.gradient(scaled, D.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, D.trainable_variables))

        with tf.GradientTape() as tape:
            g_loss = self.g_loss_fn(D(G(z_g, training=True), training=True))
            scaled = g_loss / replicas
        grads = tape.gradient(scaled, G.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, G.trainable_variables))
        return d_loss, g_loss

    def train_step(self, data):
        if isinstance(data, (tuple, list)) and len(data) == 3:
            real, z_d, z_g = data
        else:
            real = data[0] if isinstance(data, (tuple, list)) else data
            n = tf.shape(real)[0]
            z_d = keras.random.uniform((n, self.noise_dim), -1.0, 1.0, seed=self.seed_generator)
            z_g = keras.random.uniform((n, self.noise_dim), -1.0, 1.0, seed=self.seed_generator)
        d_loss, g_loss = self.gan_step(tf.cast(real, tf.float32), z_d, z_g)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            generator=keras.saving.serialize_keras_object(self.generator),
            noise_dim=self.noise_dim, seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("discriminator", "generator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def build_gan(model="dcgan", noise_dim=NOISE_DIM, seed=0, learning_rate=1e-3, beta1=0.5,
              synchronized=False):
    """The course's GAN of kind `model` ("vanilla", "lsgan" or "dcgan"), compiled.

    synchronized: cross-replica batch norm in the DC generator (see `dc_generator`).
    """
    if model not in ARCHITECTURES:
        raise ValueError(f"model must be one of {sorted(ARCHITECTURES)}, got {model!r}")
    make_d, make_g = ARCHITECTURES[model]
    extra = {"synchronized": synchronized} if model == "dcgan" else {}
    gan = GAN(make_d(seed=seed), make_g(noise_dim, seed=seed + 1, **extra), noise_dim,
              seed=seed, name=model)
    d_loss, g_loss = LOSSES[model]
    gan.compile(*get_solvers(learning_rate, beta1), d_loss, g_loss)
    # Optimizer slots exist before any step, so a checkpoint restores into them directly.
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    return gan


