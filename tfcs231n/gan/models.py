"""The course's GANs in TensorFlow: vanilla GAN, least-squares GAN, DCGAN, and WGAN-GP.

Public names follow the course's GANs-TensorFlow notebook. Images are flattened
784-vectors in [-1, 1] (`preprocess_img` maps [0, 1] pixels there). The loss math lives once
in the functions below; the `GAN` model, `run_a_gan`, the trainer in
`tfcs231n.gan.training`, the CLI and the notebook all call them.

Departures from the course, each for a reason:
- networks are always called with an explicit ``training=`` flag: the course calls
  ``G(z)`` bare, which in Keras runs batch norm in inference mode throughout training;
- the discriminator's step uses its own noise and the generator's step new noise, both
  drawn from a seeded generator, so a run is reproducible and resumable;
- WGAN-GP (the course notes' pointer past the course) uses the course's DC networks, the
  discriminator as its critic (it has no batch norm to remove), with the paper's
  n_critic = 5 and Adam(1e-4, beta1 0, beta2 0.9).

Example:
    >>> D, G = dc_discriminator(), dc_generator()
    >>> gan = GAN(D, G)
    >>> gan.compile(*get_solvers())
    >>> gan.fit(real_images, batch_size=128, epochs=1)  # doctest: +SKIP
"""

import keras
import numpy as np
import tensorflow as tf

from tfcs231n.gan.losses import (LOSSES, discriminator_loss, generator_loss,
                                 penalized_critic_loss)

NOISE_DIM = 96
IMAGE_DIM = 784  # 28 * 28, flattened as the course does


# ----------------------------------------------------------------------------- course API


def leaky_relu(x, alpha=0.01):
    """x where x > 0, else alpha * x (= max(x, alpha * x) for alpha < 1); any shape.

    The gradient at exactly 0 is alpha, as in PyTorch.
    """
    x = tf.convert_to_tensor(x)
    if x.dtype == tf.float32:
        # One fused op with a fused gradient. Why: docs/design.md#the-fused-leaky-relu
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


def dc_discriminator(seed=None, name="dc_discriminator", dtype=None):
    """The course's DCGAN discriminator; 1,102,721 params.

    Reshape (28, 28, 1) -> Conv 32 5x5 valid -> LeakyReLU -> MaxPool 2 -> Conv 64 5x5 valid
    -> LeakyReLU -> MaxPool 2 -> Flatten (4*4*64) -> Dense 1024 -> LeakyReLU -> Dense 1.
    Input (N, 784); output (N, 1) logits.

    Args:
        dtype: the layers' dtype; None: Keras's global policy (the parity cases build
            float64 critics beside float32 ones).
    """
    init = _init(seed)
    return keras.Sequential([
        keras.Input((IMAGE_DIM,), dtype=dtype),
        keras.layers.Reshape((28, 28, 1), dtype=dtype),
        keras.layers.Conv2D(32, 5, kernel_initializer=init(), dtype=dtype),  # (N, 24, 24, 32)
        LeakyReLU(0.01, dtype=dtype),
        keras.layers.MaxPooling2D(2, 2, dtype=dtype),  # (N, 12, 12, 32)
        keras.layers.Conv2D(64, 5, kernel_initializer=init(), dtype=dtype),  # (N, 8, 8, 64)
        LeakyReLU(0.01, dtype=dtype),
        keras.layers.MaxPooling2D(2, 2, dtype=dtype),  # (N, 4, 4, 64)
        keras.layers.Flatten(dtype=dtype),  # (N, 1024), (H, W, C) order
        keras.layers.Dense(4 * 4 * 64, kernel_initializer=init(), dtype=dtype),
        LeakyReLU(0.01, dtype=dtype),
        keras.layers.Dense(1, kernel_initializer=init(), dtype=dtype),
    ], name=name)


def dc_critic(seed=None, dtype=None):
    """WGAN-GP's critic: `dc_discriminator`'s network, its output an unbounded score.

    Gulrajani et al. drop batch norm from the critic (the penalty is per sample, batch norm
    couples the samples); the course's DC discriminator has none, so the network is the
    same, layer for layer. Input (N, 784); output (N, 1) scores.
    """
    return dc_discriminator(seed, name="dc_critic", dtype=dtype)


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
    "wgan-gp": (dc_critic, dc_generator),
}

# How each model trains beyond its networks and losses: the course's Adam for its three
# GANs; WGAN-GP's paper settings (n_critic critic steps per generator step, penalty weight).
TRAINING = {
    "vanilla": dict(learning_rate=1e-3, beta1=0.5, beta2=0.999, n_critic=1, lambda_gp=0.0),
    "lsgan": dict(learning_rate=1e-3, beta1=0.5, beta2=0.999, n_critic=1, lambda_gp=0.0),
    "dcgan": dict(learning_rate=1e-3, beta1=0.5, beta2=0.999, n_critic=1, lambda_gp=0.0),
    "wgan-gp": dict(learning_rate=1e-4, beta1=0.0, beta2=0.9, n_critic=5, lambda_gp=10.0),
}


def get_solvers(learning_rate=1e-3, beta1=0.5, beta2=0.999):
    """Two Adam optimizers (discriminator's, generator's) with the course's settings."""
    return (keras.optimizers.Adam(learning_rate, beta_1=beta1, beta_2=beta2),
            keras.optimizers.Adam(learning_rate, beta_1=beta1, beta_2=beta2))


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
    """A discriminator (or critic) and a generator trained in alternation, one tape each.

    One iteration (`gan_step`) makes `n_critic` discriminator updates, each on its own real
    batch, noise and interpolation weights, then one generator update. `train_step` (used
    by `fit`) takes real images (N, 784) in [-1, 1], reusing them for every discriminator
    update, or a tuple ``(real, z_d, z_g, epsilon)`` laid out as `gan_step` takes it (the
    trainer passes these, so that runs are reproducible under any distribution strategy).
    Calling the model generates: ``gan(z)`` -> (N, 784) in [-1, 1].

    Args:
        discriminator: a Keras model (N, 784) -> (N, 1) logits or scores.
        generator: a Keras model (N, noise_dim) -> (N, 784).
        noise_dim: the generator's input size.
        seed: seeds the noise `train_step` draws when none is passed.
        n_critic: discriminator updates per generator update (the course's GANs 1,
            WGAN-GP 5).
        lambda_gp: weight of the gradient penalty added to the discriminator loss (0: none;
            WGAN-GP 10), see `tfcs231n.gan.losses.penalized_critic_loss`.
    """

    def __init__(self, discriminator, generator, noise_dim=NOISE_DIM, seed=0, n_critic=1,
                 lambda_gp=0.0, **kwargs):
        super().__init__(**kwargs)
        _check_noise_dim(noise_dim)
        if isinstance(n_critic, bool) or not isinstance(n_critic, (int, np.integer)) \
                or n_critic < 1:
            raise ValueError(f"n_critic must be a positive int, got {n_critic!r}")
        if not lambda_gp >= 0:
            raise ValueError(f"lambda_gp must be >= 0, got {lambda_gp!r}")
        self.discriminator = discriminator
        self.generator = generator
        self.noise_dim = int(noise_dim)
        self.seed = int(seed)
        self.n_critic = int(n_critic)
        self.lambda_gp = float(lambda_gp)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        # No weights of its own, and its networks are built: so `fit` under a distribution
        # strategy need not build it from a batch (which holds noise, not its input).
        self.built = True

    def compile(self, d_optimizer=None, g_optimizer=None, d_loss_fn=discriminator_loss,
                g_loss_fn=generator_loss, jit_compile=False, **kwargs):
        """The two optimizers and losses; `jit_compile` is off unless asked for (Keras's
        "auto" turns XLA on where a GPU is, which changes a seeded run's numbers)."""
        super().compile(jit_compile=jit_compile, **kwargs)
        if d_optimizer is None or g_optimizer is None:
            d_optimizer, g_optimizer = get_solvers()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.d_loss_fn, self.g_loss_fn = d_loss_fn, g_loss_fn

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def make_train_function(self, force=False):
        """Keras's train function, except under `MultiWorkerMirroredStrategy`: there one
        `train_step` per replica, each scalar log averaged over the replicas.

        Keras 3.15 averages a multi-worker step's logs along axis 0, which fails for the
        scalar losses `train_step` returns. See docs/design.md#gan-fit-across-workers.
        """
        strategy = self.distribute_strategy
        if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function
        if self.steps_per_execution != 1:
            raise ValueError(f"steps_per_execution must be 1 under MultiWorkerMirroredStrategy, "
                             f"got {self.steps_per_execution}")

        @tf.function(reduce_retracing=True, jit_compile=self.jit_compile)
        def one_step(iterator):  # fit passes the distributed iterator
            logs = strategy.run(self.train_step, args=(next(iterator),))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                    for k, v in logs.items()}

        self.train_function = one_step
        return one_step

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras builds a model under a strategy from its first batch, averaged over the
        # replicas, which MultiWorkerMirroredStrategy refuses for a tuple. The GAN is built
        # (`__init__`), so there is nothing to build.
        if not isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def critic_step(self, real, z_d, epsilon=None):
        """One discriminator update; its loss before the update.

        Args:
            real: (N, 784) float in [-1, 1].
            z_d: (N, noise_dim) noise for the fake batch.
            epsilon: (N, 1) interpolation weights in [0, 1) for the gradient penalty;
                None draws them (when the penalty is on).

        Under a distribution strategy each replica's loss is divided by the number of
        replicas, because the optimizers sum the replicas' gradients.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        D, G = self.discriminator, self.generator
        if epsilon is None and self.lambda_gp:
            epsilon = keras.random.uniform((tf.shape(real)[0], 1), dtype=real.dtype,
                                           seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = G(z_d, training=True)
            d_loss = penalized_critic_loss(self.d_loss_fn, lambda x: D(x, training=True),
                                           real, fake, self.lambda_gp, epsilon)
            scaled = d_loss / replicas
        grads = tape.gradient(scaled, D.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, D.trainable_variables))
        return d_loss

    def generator_step(self, z_g):
        """One generator update on noise (N, noise_dim); its loss before the update."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        D, G = self.discriminator, self.generator
        with tf.GradientTape() as tape:
            g_loss = self.g_loss_fn(D(G(z_g, training=True), training=True))
            scaled = g_loss / replicas
        grads = tape.gradient(scaled, G.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, G.trainable_variables))
        return g_loss

    def gan_step(self, real, z_d, z_g, epsilon=None):
        """`n_critic` discriminator updates, then one generator update; (d_loss, g_loss).

        Args:
            real: (N, n_critic, 784) float in [-1, 1]: one batch per discriminator update;
                (N, 784) when n_critic is 1.
            z_d: (N, n_critic, noise_dim) noise for the discriminator updates; (N,
                noise_dim) when n_critic is 1.
            z_g: (N, noise_dim) noise for the generator update.
            epsilon: (N, n_critic, 1) interpolation weights in [0, 1) for the gradient
                penalty ((N, 1) when n_critic is 1); None draws them (when the penalty is on).

        Returns:
            The last discriminator update's loss and the generator's, each computed before
            its update.
        """
        if real.shape.rank == 2:  # one discriminator update: (N, 784) -> (N, 1, 784)
            real, z_d = real[:, None], z_d[:, None]
            epsilon = None if epsilon is None else epsilon[:, None]
        for k in range(self.n_critic):  # unrolled: n_critic is a small Python int
            d_loss = self.critic_step(real[:, k], z_d[:, k],
                                      None if epsilon is None else epsilon[:, k])
        return d_loss, self.generator_step(z_g)

    def train_step(self, data):
        if isinstance(data, (tuple, list)) and len(data) == 4:
            real, z_d, z_g, epsilon = data
        else:
            real = data[0] if isinstance(data, (tuple, list)) else data
            n = tf.shape(real)[0]
            # Plain images: each discriminator update sees this batch, with its own noise.
            real = tf.repeat(real[:, None], self.n_critic, axis=1)
            z_d = keras.random.uniform((n, self.n_critic, self.noise_dim), -1.0, 1.0,
                                       seed=self.seed_generator)
            z_g = keras.random.uniform((n, self.noise_dim), -1.0, 1.0, seed=self.seed_generator)
            epsilon = None
        d_loss, g_loss = self.gan_step(tf.cast(real, tf.float32), z_d, z_g, epsilon)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        # This step's losses go to the batch callbacks (the trainer records each step);
        # fit's epoch logs are the trackers' means (the names match `metrics`).
        return {"d_loss": d_loss, "g_loss": g_loss}

    def get_config(self):
        config = super().get_config()
        config.update(
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            generator=keras.saving.serialize_keras_object(self.generator),
            noise_dim=self.noise_dim, seed=self.seed, n_critic=self.n_critic,
            lambda_gp=self.lambda_gp)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("discriminator", "generator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def build_gan(model="dcgan", noise_dim=NOISE_DIM, seed=0, synchronized=False, **training):
    """The GAN of kind `model` (a key of `ARCHITECTURES`), compiled.

    Args:
        synchronized: cross-replica batch norm in the DC generator (see `dc_generator`).
        **training: overrides of the model's `TRAINING` settings (learning_rate, beta1,
            beta2, n_critic, lambda_gp); None values keep the model's own.
    """
    if model not in ARCHITECTURES:
        raise ValueError(f"model must be one of {sorted(ARCHITECTURES)}, got {model!r}")
    unknown = set(training) - set(TRAINING[model])
    if unknown:
        raise ValueError(f"unknown training settings {sorted(unknown)}; "
                         f"known: {sorted(TRAINING[model])}")
    settings = {**TRAINING[model], **{k: v for k, v in training.items() if v is not None}}
    make_d, make_g = ARCHITECTURES[model]
    extra = {"synchronized": synchronized} if make_g is dc_generator else {}
    gan = GAN(make_d(seed=seed), make_g(noise_dim, seed=seed + 1, **extra), noise_dim,
              seed=seed, n_critic=settings["n_critic"], lambda_gp=settings["lambda_gp"],
              name=model.replace("-", "_"))
    d_loss, g_loss = LOSSES[model]
    gan.compile(*get_solvers(settings["learning_rate"], settings["beta1"], settings["beta2"]),
                d_loss, g_loss)
    # Optimizer slots exist before any step, so a checkpoint restores into them directly.
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    return gan
