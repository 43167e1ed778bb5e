"""Training, checkpointing, sampling and export for `tfcs231n.gan.models.GAN`.

`train_gan` trains with `GAN.fit` (the one training loop: Keras's, calling
`GAN.train_step`), under the `tf.distribute.Strategy` the GAN was built under. Everything
random is a pure function of ``(seed, epoch, step)``: the data order per epoch and the
stateless noise of every step, drawn for the global batch before the strategy splits it.
So a run resumed from the checkpoint of epoch k continues exactly as if never stopped, and
the same run under `MirroredStrategy` sees the same numbers as on one device.

Callbacks hook into the loop: after every step the losses are recorded (and the time
budget checked); after every epoch, the metrics of `metrics_fn` (Fréchet distance,
inception score), TensorBoard scalars, a sample grid from fixed noise
(``samples-epoch-NNN.png``), and an atomic `tf.train.Checkpoint`
(`tfcs231n._io.AtomicCheckpointer`), so a ``kill -9`` loses at most the current epoch.

Under `MultiWorkerMirroredStrategy` (`tfcs231n.distribute`) every worker runs the same
loop on its part of each global batch; only the chief writes grids, checkpoints and
TensorBoard scalars, prints, and calls `metrics_fn` (the others take part in each save
into a scratch directory that is removed at once).
"""

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfcs231n import distribute
from tfcs231n._io import AtomicCheckpointer, atomic_path
from tfcs231n._progress import Progress
from tfcs231n.data import without_autotuning
from tfcs231n.gan.models import (GAN, IMAGE_DIM, TRAINING, build_gan, deprocess_img,
                                 sample_noise)

GRID_SAMPLES = 36  # a 6 x 6 grid per epoch
_EPOCH_STRIDE = 1 << 20  # stateless noise seed = epoch * stride + 2 * step (+1 for G)


@dataclasses.dataclass(frozen=True)
class GANConfig:
    """Hyper-parameters of one run; defaults are the course's (WGAN-GP's: the paper's).

    Attributes:
        model: "vanilla", "lsgan", "dcgan" or "wgan-gp".
        batch_size: global batch (split across replicas under a strategy).
        num_epochs: epochs to train in total (a resumed run counts the earlier ones).
        noise_dim: generator input size.
        learning_rate, beta1, beta2: Adam settings for both networks; None: the model's
            own (`tfcs231n.gan.models.TRAINING`: the course's 1e-3, 0.5, 0.999; WGAN-GP
            1e-4, 0, 0.9).
        n_critic: discriminator updates per iteration, each on its own batch; None: the
            model's own (1; WGAN-GP 5).
        lambda_gp: gradient-penalty weight; None: the model's own (0; WGAN-GP 10).
        seed: seeds weights, data order and noise.
        steps_per_epoch: cap on iterations per epoch (None: the whole data set).
        time_budget_s: stop (without checkpointing the partial epoch) once this many
            seconds of training (not counting `metrics_fn`) have passed; None: no limit.
        budget_clock: "wall" (elapsed seconds) or "cpu" (this process's CPU seconds, all
            threads: fair between runs on a machine that others share).
    """

    model: str = "dcgan"
    batch_size: int = 128
    num_epochs: int = 10
    noise_dim: int = 96
    learning_rate: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    n_critic: int | None = None
    lambda_gp: float | None = None
    seed: int = 0
    steps_per_epoch: int | None = None
    time_budget_s: float | None = None
    budget_clock: str = "wall"

    def __post_init__(self):
        if self.model not in TRAINING:
            raise ValueError(f"model must be one of {sorted(TRAINING)}, got {self.model!r}")
        for name, default in TRAINING[self.model].items():
            if getattr(self, name) is None:  # frozen: filled once, here
                object.__setattr__(self, name, default)
        for name in ("batch_size", "num_epochs", "noise_dim", "n_critic"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1 or None, got {self.steps_per_epoch}")
        if self.budget_clock not in ("wall", "cpu"):
            raise ValueError(f"budget_clock must be 'wall' or 'cpu', got {self.budget_clock!r}")


def to_gan_input(images):
    """uint8 (N, 28, 28[, 1]) or (N, 784) pixels -> uint8 (N, 784); floats in [0, 1] scaled."""
    images = np.asarray(images)
    if images.ndim < 2 or int(np.prod(images.shape[1:])) != IMAGE_DIM:
        raise ValueError(f"images must be (N, 28, 28), (N, 28, 28, 1) or (N, 784), "
                         f"got shape {images.shape}")
    if images.dtype != np.uint8:
        images = np.clip(np.rint(np.asarray(images, np.float64) * 255), 0, 255).astype(np.uint8)
    return images.reshape(len(images), IMAGE_DIM)


def train(config=GANConfig(), data=None, strategy=None, **kwargs):
    """Builds the GAN of `config.model` under `strategy` and trains it; see `train_gan`.

    Returns:
        ``(gan, result)``.
    """
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        gan = build_gan(config.model, config.noise_dim, config.seed,
                        synchronized=strategy.num_replicas_in_sync > 1,
                        **{k: getattr(config, k) for k in TRAINING[config.model]})
    return gan, train_gan(gan, data, config, strategy=strategy, **kwargs)


def steps_per_epoch(config, num_images):
    """Iterations per epoch: full batches only (``n_critic`` per iteration), capped by
    ``config.steps_per_epoch``.

    Raises:
        ValueError: the images do not fill one iteration's batches.
    """
    steps = num_images // (config.batch_size * config.n_critic)
    if config.steps_per_epoch:
        steps = min(steps, config.steps_per_epoch)
    if steps < 1:
        each = f" for each of {config.n_critic} critic steps" if config.n_critic > 1 else ""
        raise ValueError(f"{num_images} images cannot fill one batch of "
                         f"{config.batch_size}{each}")
    return steps


def train_gan(gan, data, config, *, out_dir=None, strategy=None, resume=False, log_dir=None,
              metrics_fn=None, show_every=None, print_every=None, verbose=1):
    """Trains a compiled `GAN` for ``config.num_epochs`` epochs, through `GAN.fit`.

    The step loop is Keras's (`fit` calls `GAN.train_step` on the batches of `_dataset`);
    everything else hooks into it as callbacks: `_StepLog` per step (losses, TensorBoard,
    snapshots, loss lines, the time budget) and, at each epoch's end, `_EpochMetrics`,
    `_TensorBoardEpoch`, `_SampleGrid` and `_Checkpoint`, in that order.

    Args:
        gan: a compiled `tfcs231n.gan.models.GAN`, built under `strategy`'s scope.
        data: training images as for `to_gan_input`; None: the offline synthetic digits.
        config: a `GANConfig` (its `model` field is not used here; its `n_critic`, which
            lays out the batches, must be the gan's).
        out_dir: per-epoch grids and ``checkpoints/``; None writes nothing. Under several
            workers, on a file system that every worker reads (all of them resume from it).
        strategy: the `tf.distribute.Strategy` the gan was built under (`fit` uses that
            one); None for the default. ``config.batch_size`` must divide evenly among its
            replicas, and a multi-worker run takes no ``config.time_budget_s`` (each
            worker's clock would stop it at a different step).
        resume: continue from the newest checkpoint in ``out_dir/checkpoints``.
        log_dir: TensorBoard scalars (d_loss, g_loss per step; metrics per epoch).
        metrics_fn: ``metrics_fn(generator) -> {name: float}``, called after every epoch.
        show_every: keep a (16, 784) sample in ``snapshots`` every this many steps.
        print_every: print the course's loss line every this many steps.
        verbose: 1 shows a progress bar per epoch.

    Returns:
        dict with ``history`` (per-step d_loss/g_loss lists, per-epoch metrics),
        ``epochs_done``, ``start_epoch`` (where a resumed run began), ``grids`` (PNG
        paths), ``snapshots`` and ``stopped_early``.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if config.n_critic != gan.n_critic:
        raise ValueError(f"config.n_critic={config.n_critic} but the gan makes "
                         f"n_critic={gan.n_critic} discriminator updates per iteration")
    if strategy is not gan.distribute_strategy:
        raise ValueError(f"strategy={type(strategy).__name__} is not the strategy the gan "
                         f"was built under ({type(gan.distribute_strategy).__name__}); "
                         f"build it in strategy.scope()")
    replicas, workers = strategy.num_replicas_in_sync, distribute.num_workers(strategy)
    if config.batch_size % replicas:
        raise ValueError(f"batch_size={config.batch_size} does not split evenly among "
                         f"{replicas} replicas")
    if workers > 1 and config.time_budget_s is not None:
        raise ValueError(f"time_budget_s={config.time_budget_s}: {workers} workers cannot "
                         "stop at the same step by their own clocks; leave it out")
    chief = distribute.is_chief(strategy)
    verbose = verbose if chief else 0
    print_every = print_every if chief else None
    if not chief:  # the chief alone writes and measures
        log_dir = metrics_fn = None
    if data is None:
        from tfcs231n.data.mnist import load_digits

        data = load_digits("synthetic", seed=config.seed)[0][0]
    pixels = to_gan_input(data)
    steps = steps_per_epoch(config, len(pixels))

    out_dir = Path(out_dir) if out_dir is not None else None
    checkpointer = None
    if out_dir is not None:
        if chief:
            out_dir.mkdir(parents=True, exist_ok=True)
        checkpointer = AtomicCheckpointer(
            out_dir / "checkpoints", keep=2, chief=chief, discriminator=gan.discriminator,
            generator=gan.generator, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
    history = {"d_loss": [], "g_loss": [], "epochs": []}
    start = 0
    if resume:
        if checkpointer is None:
            raise ValueError("resume=True needs out_dir (where the checkpoints are)")
        state = checkpointer.restore_latest()
        if state is not None:
            start, history = state["epoch"], state["history"]
            if verbose:
                print(f"Resumed from epoch {start} in {out_dir / 'checkpoints'}")

    run = _Run(history, {"history": history, "grids": [], "snapshots": [],
                         "stopped_early": False, "start_epoch": start},
               fixed=sample_noise(GRID_SAMPLES, config.noise_dim, seed=(config.seed, -1)),
               iteration=start * steps)
    writer = tf.summary.create_file_writer(os.fspath(log_dir)) if log_dir else None
    hooks = [_StepLog(run, config, writer, show_every, print_every)]
    if verbose:
        hooks.append(_ProgressBar(steps, config.num_epochs))
    if metrics_fn is not None:
        hooks.append(_EpochMetrics(run, metrics_fn, verbose))
    if writer:
        hooks.append(_TensorBoardEpoch(run, writer))
    if out_dir is not None:
        if chief:
            hooks.append(_SampleGrid(run, out_dir))
        hooks.append(_Checkpoint(run, checkpointer))  # every worker takes part in a save
    if start < config.num_epochs:
        dataset = _dataset(pixels, start, steps, config)
        if workers > 1:
            dataset = _split_among_workers(dataset)
        run.clock.start()
        gan.fit(dataset, epochs=config.num_epochs,
                initial_epoch=start, steps_per_epoch=steps, callbacks=hooks, verbose=0,
                shuffle=False)  # the dataset orders itself, per epoch; _ProgressBar reports
    result = run.result
    result["epochs_done"] = len([e for e in history["epochs"] if not e["partial"]])
    return result


class _Clock:
    """Training seconds, wall and process CPU, leaving out the time spent measuring:
    a model measured after every short epoch must not look slower than one measured
    rarely."""

    def start(self):
        self.wall, self.cpu = time.monotonic(), time.process_time()
        self.paused_wall = self.paused_cpu = 0.0

    def seconds(self):
        """(wall, cpu) seconds of training so far."""
        return (time.monotonic() - self.wall - self.paused_wall,
                time.process_time() - self.cpu - self.paused_cpu)

    @contextlib.contextmanager
    def paused(self):
        wall, cpu = time.monotonic(), time.process_time()
        try:
            yield
        finally:
            self.paused_wall += time.monotonic() - wall
            self.paused_cpu += time.process_time() - cpu


@dataclasses.dataclass
class _Run:
    """What the hooks share: the history, the result, the grid noise, the step count, the
    clock, and the record of the epoch being closed."""

    history: dict
    result: dict
    fixed: tf.Tensor
    iteration: int
    clock: _Clock = dataclasses.field(default_factory=_Clock)
    record: dict = None


class _StepLog(keras.callbacks.Callback):
    """Per step: the losses into the history (and TensorBoard), snapshots, the course's loss
    lines, and the time budget (which stops `fit` after the step that spends it). At each
    epoch's end it opens the epoch's record for the hooks after it."""

    def __init__(self, run, config, writer, show_every, print_every):
        super().__init__()
        self.run, self.config, self.writer = run, config, writer
        self.show_every, self.print_every = show_every, print_every
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        run = self.run
        d_loss, g_loss = float(logs["d_loss"]), float(logs["g_loss"])
        run.history["d_loss"].append(d_loss)
        run.history["g_loss"].append(g_loss)
        if self.writer:
            with self.writer.as_default(step=run.iteration):
                _scalar("d_loss", d_loss)
                _scalar("g_loss", g_loss)
        if self.show_every and run.iteration % self.show_every == 0:
            run.result["snapshots"].append(deprocess_img(self.model.generator(
                run.fixed[:16], training=False)).numpy())
        if self.print_every and run.iteration % self.print_every == 0:
            print(f"Epoch: {self.epoch}, Iter: {run.iteration}, D: {d_loss:.4}, G:{g_loss:.4}")
        run.iteration += 1
        budget = self.config.time_budget_s
        if budget is not None and run.clock.seconds()[self.config.budget_clock == "cpu"] > budget:
            run.result["stopped_early"] = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        wall, cpu = self.run.clock.seconds()
        self.run.record = {"epoch": epoch + 1, "steps": self.run.iteration, "seconds": wall,
                           "cpu_seconds": cpu, "partial": self.run.result["stopped_early"]}
        self.run.history["epochs"].append(self.run.record)


class _ProgressBar(keras.callbacks.Callback):
    """Keras's bar on a terminal, one plain line per epoch in a log (`tfcs231n._progress`)."""

    def __init__(self, steps, epochs):
        super().__init__()
        self.steps, self.epochs, self.bar = steps, epochs, None

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = Progress(self.steps, label=f"epoch {epoch + 1}/{self.epochs}",
                            stateful_metrics=["d_loss", "g_loss"])

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, [(k, float(logs[k])) for k in ("d_loss", "g_loss")])


class _EpochMetrics(keras.callbacks.Callback):
    """``metrics_fn(generator)`` into the epoch's record, its time left off the clock."""

    def __init__(self, run, metrics_fn, verbose):
        super().__init__()
        self.run, self.metrics_fn, self.verbose = run, metrics_fn, verbose

    def on_epoch_end(self, epoch, logs=None):
        with self.run.clock.paused():
            values = self.metrics_fn(self.model.generator)
        self.run.record.update({k: float(v) for k, v in values.items()})
        if self.verbose:
            print("  " + ", ".join(f"{k}={v:.4g}" for k, v in self.run.record.items()
                                   if isinstance(v, float)))


class _TensorBoardEpoch(keras.callbacks.Callback):
    """The epoch's record (seconds, metrics) as TensorBoard scalars ``epoch/NAME``."""

    def __init__(self, run, writer):
        super().__init__()
        self.run, self.writer = run, writer

    def on_epoch_end(self, epoch, logs=None):
        with self.writer.as_default(step=epoch + 1):
            for k, v in self.run.record.items():
                if k not in ("epoch", "partial"):
                    _scalar(f"epoch/{k}", v)
        self.writer.flush()


class _SampleGrid(keras.callbacks.Callback):
    """A grid from the fixed noise: ``samples-epoch-NNN.png`` (``-partial`` when the budget
    cut the epoch short)."""

    def __init__(self, run, out_dir):
        super().__init__()
        self.run, self.out_dir = run, out_dir

    def on_epoch_end(self, epoch, logs=None):
        images = deprocess_img(self.model.generator(self.run.fixed, training=False)).numpy()
        suffix = "-partial" if self.run.record["partial"] else ""
        self.run.result["grids"].append(save_grid(
            images, self.out_dir / f"samples-epoch-{epoch + 1:03d}{suffix}.png"))


class _Checkpoint(keras.callbacks.Callback):
    """An atomic checkpoint of every whole epoch (networks, optimizers, history)."""

    def __init__(self, run, checkpointer):
        super().__init__()
        self.run, self.checkpointer = run, checkpointer

    def on_epoch_end(self, epoch, logs=None):
        if not self.run.record["partial"]:
            self.checkpointer.save(epoch + 1, {"history": self.run.history})


def _dataset(pixels, start, steps, config):
    """The global batches of epochs start..num_epochs - 1, `steps` per epoch, as
    `GAN.gan_step` takes them, with B the batch and k = n_critic: (real (B, k, 784) in
    [-1, 1], z_d (B, k, noise_dim), z_g (B, noise_dim), epsilon (B, k, 1) in [0, 1)).

    Everything is a function of (seed, epoch, step): the data order of each epoch, and the
    stateless noise of each step. The batch axis comes first, so a strategy splits it.
    """
    B, k = config.batch_size, config.n_critic
    per_epoch = steps * B * k

    def order(epoch):
        rng = np.random.default_rng([config.seed, int(epoch)])
        return rng.permutation(len(pixels))[:per_epoch]

    indices = tf.data.Dataset.range(start, config.num_epochs).flat_map(
        lambda epoch: tf.data.Dataset.from_tensor_slices(tf.ensure_shape(
            tf.numpy_function(order, [epoch], tf.int64), (per_epoch,))))
    images = tf.constant(pixels)

    def batch(g, index):
        epoch, i = start + g // steps, g % steps
        real = tf.cast(tf.gather(images, index), tf.float32) * (2.0 / 255.0) - 1.0
        real = tf.reshape(real, (B, k, IMAGE_DIM))
        s = epoch * _EPOCH_STRIDE + 2 * i
        # (B, k, D) draws the same numbers as (B, D) at k = 1: runs from before n_critic
        # existed keep their noise.
        z_d = tf.random.stateless_uniform((B, k, config.noise_dim), [config.seed, s], -1.0, 1.0)
        z_g = tf.random.stateless_uniform((B, config.noise_dim), [config.seed, s + 1], -1.0, 1.0)
        epsilon = tf.random.stateless_uniform(
            (B, k, 1), tf.random.experimental.stateless_fold_in([config.seed, s], 1))
        return real, z_d, z_g, epsilon

    return without_autotuning(indices.batch(B * k, drop_remainder=True).enumerate()
                              .map(batch).prefetch(2))


def _split_among_workers(dataset):
    """`dataset` of global batches, marked for `MultiWorkerMirroredStrategy` to split each
    batch among the workers: every worker builds every global batch, `fit` cuts each into
    per-replica pieces and worker w keeps its part (tf.data's DATA sharding, which AUTO
    falls back to when, as here, there are no files to shard by)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _scalar(name, value):
    """A TensorBoard scalar without the `tensorboard` package.

    `tf.summary.scalar` lives in that package (TF raises TBNotInstalledError without it);
    this writes the same event: a float32 tensor tagged with the "scalars" plugin.
    """
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR)
    tf.summary.write(name, tf.constant(value, tf.float32),
                     metadata=metadata.SerializeToString())


def restore_generator(out_dir, model="dcgan", noise_dim=96):
    """The generator of the newest checkpoint under ``out_dir/checkpoints``; (G, state)."""
    gan = build_gan(model, noise_dim)
    checkpointer = AtomicCheckpointer(
        Path(out_dir) / "checkpoints", discriminator=gan.discriminator,
        generator=gan.generator, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
    state = checkpointer.restore_latest()
    if state is None:
        raise FileNotFoundError(f"no checkpoint under {Path(out_dir) / 'checkpoints'}")
    return gan.generator, state


def save_grid(images, path, cols=None, scale=3):
    """Images in [0, 1], (N, 784) or (N, 28, 28), as one PNG grid (atomic write); its path."""
    from PIL import Image

    images = np.asarray(images, np.float64).reshape(-1, 28, 28)
    n = len(images)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    canvas = np.ones((rows * 30 + 2, cols * 30 + 2))  # 2 px white gutters
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        canvas[2 + 30 * r: 30 * r + 30, 2 + 30 * c: 30 * c + 30] = image
    pixels = np.clip(np.rint(canvas * 255), 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale),
                                             Image.NEAREST)
    path = Path(path)
    with atomic_path(path) as tmp:
        picture.save(tmp)
    return path


def export_generator(G, path):
    """Writes `G` as a SavedModel: signature ``serving_default`` noise -> images.

    Input ``noise`` float32 (None, noise_dim); output ``images`` uint8 (None, 28, 28, 1),
    the tanh output mapped to 0..255. Written to a temporary directory and renamed, so
    `path` is never half a SavedModel.

    Returns:
        `path` as a Path.
    """
    noise_dim = int(G.input_shape[-1])

    def serve(noise):
        x = G(noise, training=False)  # (N, 784) in [-1, 1]
        pixels = tf.clip_by_value(tf.round((x + 1.0) * 127.5), 0.0, 255.0)
        return {"images": tf.reshape(tf.cast(pixels, tf.uint8), (-1, 28, 28, 1))}

    archive = keras.export.ExportArchive()
    archive.track(G)
    archive.add_endpoint("serving_default", serve,
                         input_signature=[tf.TensorSpec((None, noise_dim), tf.float32, "noise")])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    try:
        archive.write_out(os.fspath(tmp), verbose=False)
        if path.exists():
            shutil.rmtree(path)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_exported(path):
    """The serving function of an exported generator: noise (N, D) float32 -> uint8 images."""
    loaded = tf.saved_model.load(os.fspath(path))
    fn = loaded.signatures["serving_default"]
    return lambda noise: fn(noise=tf.convert_to_tensor(noise, tf.float32))["images"].numpy()


def run_a_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, show_every=20,
              print_every=20, batch_size=128, num_epochs=10, noise_size=96, data=None,
              seed=0, out_dir=None):
    """The course's training loop, as a thin wrapper over `tfcs231n.gan.training.train_gan`.

    Args:
        D, G, D_solver, G_solver, discriminator_loss, generator_loss: as in the course.
        show_every: iterations between sample grids kept in the returned list.
        print_every: iterations between loss lines.
        data: uint8 (N, 28, 28) images, or None for the offline synthetic digits.
        out_dir: where per-epoch grids and checkpoints go (None: nowhere).

    Returns:
        ``(images, final)``: sample grids (list of float arrays (16, 784) in [0, 1]) every
        `show_every` iterations, and the final samples (16, 784) in [0, 1].
    """
    from tfcs231n.gan import training as gan_training

    gan = GAN(D, G, noise_size, seed=seed)
    gan.compile(D_solver, G_solver, discriminator_loss, generator_loss)
    config = gan_training.GANConfig(batch_size=batch_size, num_epochs=num_epochs,
                                    noise_dim=noise_size, seed=seed)
    result = gan_training.train_gan(gan, data, config, out_dir=out_dir,
                                    show_every=show_every, print_every=print_every,
                                    verbose=0)  # the course prints loss lines, no bar
    final = deprocess_img(G(sample_noise(16, noise_size, seed=(seed, 7)), training=False))
    return result["snapshots"], final.numpy()
