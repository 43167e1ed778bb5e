"""Training for `CaptioningRNN`: the course's CaptioningSolver on a `tf.GradientTape` step.

The knobs are the course solver's (update rule, learning rate, per-epoch decay, batch
size, epochs, print_every), gathered in one frozen `SolverConfig`. Beyond the course:
a compiled step, a progress bar, atomic checkpoints every epoch with exact resume, and a
`tf.distribute.Strategy` for more than one device.

Reproducibility: epoch e draws its minibatches from ``np.random.default_rng([seed, e])``,
so a resumed run sees exactly the batches the uninterrupted run would have.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfcs231n import distribute
from tfcs231n._io import AtomicCheckpointer
from tfcs231n._progress import Progress

# The course's update rules with the course's default hyper-parameters (cs231n/optim.py).
_OPTIMIZERS = {
    "sgd": lambda lr: keras.optimizers.SGD(lr),
    "sgd_momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "rmsprop": lambda lr: keras.optimizers.RMSprop(lr, rho=0.99, epsilon=1e-8),
    "adam": lambda lr: keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8),
}


def train_step(model, optimizer, features, captions, weight=1.0):
    """One optimizer update on ``weight * model.caption_loss(features, captions)``; returns
    that loss.

    Plain TF, so callers choose how to run it: eagerly, in `tf.function`, with XLA, or per
    replica under a `tf.distribute.Strategy`.
    """
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = model.caption_loss(features, captions) * weight
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


@dataclasses.dataclass(frozen=True)
class SolverConfig:
    """Hyper-parameters of a captioning run; defaults are the course notebook's.

    learning_rate is multiplied by lr_decay after every epoch. An epoch is
    max(num_train // batch_size, 1) iterations of minibatches drawn with replacement,
    as in the course.
    """

    update_rule: str = "adam"
    learning_rate: float = 5e-3
    lr_decay: float = 0.95
    batch_size: int = 25
    num_epochs: int = 50
    print_every: int = 10
    verbose: bool = True
    seed: int = 0
    checkpoint_dir: str = None
    keep_checkpoints: int = 2

    def __post_init__(self):
        if self.update_rule not in _OPTIMIZERS:
            raise ValueError(
                f"update_rule must be one of {sorted(_OPTIMIZERS)}, got {self.update_rule!r}"
            )
        for name in ("batch_size", "num_epochs", "print_every", "keep_checkpoints"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")


class CaptioningSolver:
    """Trains a `CaptioningRNN` on the course's data dict.

    Args:
        model: a `CaptioningRNN` (create it inside ``strategy.scope()`` when using one).
        data: the dict of `tfcs231n.data.coco.load_coco_data` (train_captions,
            train_image_idxs, train_features, ...).
        config: a `SolverConfig`; keyword overrides may follow, under the course's names,
            including ``optim_config={"learning_rate": ...}``.
        strategy: a `tf.distribute.Strategy`; each global batch is split across replicas
            and the loss scaled so gradients equal the single-device ones. Under a
            `MultiWorkerMirroredStrategy` every worker draws the same global batch and
            takes its replicas' share; only the chief writes checkpoints and prints.

    Example (the course's call, unchanged):
        >>> solver = CaptioningSolver(model, data, update_rule="adam", num_epochs=50,
        ...                           batch_size=25, optim_config={"learning_rate": 5e-3},
        ...                           lr_decay=0.95, verbose=True, print_every=10)
        >>> solver.train()
        >>> plt.plot(solver.loss_history)
    """

    def __init__(self, model, data, config=None, *, strategy=None, optim_config=None,
                 **overrides):
        if optim_config:
            unknown = set(optim_config) - {"learning_rate"}
            if unknown:
                raise ValueError(f"optim_config supports only learning_rate, got {sorted(unknown)}")
            overrides.setdefault("learning_rate", optim_config["learning_rate"])
        self.config = dataclasses.replace(config or SolverConfig(), **overrides)
        for key in ("train_captions", "train_image_idxs", "train_features"):
            if key not in data:
                raise ValueError(f"data lacks {key!r}; pass the dict of load_coco_data")
        self.model = model
        self.data = data
        self.strategy = strategy or tf.distribute.get_strategy()
        self.loss_history = []
        self.epoch = 0
        with self.strategy.scope():
            self.optimizer = _OPTIMIZERS[self.config.update_rule](self.config.learning_rate)
            self.optimizer.build(model.trainable_variables)
        self.chief = distribute.is_chief(self.strategy)
        self._checkpointer = None
        if self.config.checkpoint_dir:
            self._checkpointer = AtomicCheckpointer(
                self.config.checkpoint_dir, self.config.keep_checkpoints, chief=self.chief,
                model=model, optimizer=self.optimizer,
            )
        self._step = tf.function(self._distributed_step, reduce_retracing=True)

    # ------------------------------------------------------------------------- steps

    def _replica_step(self, features, captions, global_n):
        # The course's loss averages over the batch; weighting each replica by its share
        # makes the all-reduced sum the loss (and gradient) of the whole batch.
        share = tf.cast(tf.shape(captions)[0], self.model.compute_dtype) / global_n
        return train_step(self.model, self.optimizer, features, captions, share)

    def _distributed_step(self, features, captions, global_n):
        per_replica = self.strategy.run(self._replica_step, args=(features, captions, global_n))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _distribute(self, array):
        replicas = self.strategy.num_replicas_in_sync
        if replicas == 1:
            return tf.constant(array)
        parts = np.array_split(array, replicas)
        return self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(parts[ctx.replica_id_in_sync_group])
        )

    def step(self, features, captions):
        """One update on one minibatch; returns the loss as a float."""
        global_n = tf.constant(len(captions), self.model.compute_dtype)
        loss = float(self._step(self._distribute(features), self._distribute(captions), global_n))
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss} at iteration {len(self.loss_history)} (epoch {self.epoch}); "
                "lower the learning rate. The last checkpoint is untouched."
            )
        return loss

    # ------------------------------------------------------------------------- loop

    def _minibatches(self, epoch):
        cfg = self.config
        num_train = len(self.data["train_captions"])
        iterations = max(num_train // cfg.batch_size, 1)
        rng = np.random.default_rng([cfg.seed, epoch])
        return rng.integers(num_train, size=(iterations, cfg.batch_size))

    def train(self, resume=False):
        """Runs the remaining epochs; returns the per-iteration loss history.

        Args:
            resume: continue from the newest checkpoint in `config.checkpoint_dir` (model,
                optimizer state, epoch and loss history), giving the same result as a run
                that was never interrupted.
        """
        cfg = self.config
        if resume:
            if self._checkpointer is None:
                raise ValueError("resume=True needs config.checkpoint_dir")
            state = self._checkpointer.restore_latest()
            if state is not None:
                self.epoch, self.loss_history = state["epoch"], state["loss_history"]
        captions = self.data["train_captions"]
        image_idxs, features = self.data["train_image_idxs"], self.data["train_features"]
        verbose = cfg.verbose and self.chief
        while self.epoch < cfg.num_epochs:
            self.optimizer.learning_rate.assign(cfg.learning_rate * cfg.lr_decay**self.epoch)
            batches = self._minibatches(self.epoch)
            bar = Progress(len(batches), label=f"epoch {self.epoch + 1}/{cfg.num_epochs}",
                           stateful_metrics=["loss"], verbose=verbose)
            for i, idx in enumerate(batches):
                self.loss_history.append(self.step(features[image_idxs[idx]], captions[idx]))
                if (i + 1) % cfg.print_every == 0 or i + 1 == len(batches):
                    bar.update(i + 1, [("loss", self.loss_history[-1])])
            self.epoch += 1
            if self._checkpointer:
                self._checkpointer.save(self.epoch, {"loss_history": self.loss_history})
        return self.loss_history
