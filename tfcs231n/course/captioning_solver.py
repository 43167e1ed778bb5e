"""The course's `cs231n/captioning_solver.py`: SGD-style training of the course's model.

Same constructor keywords, attributes (`loss_history`, `optim_configs`, `epoch`) and
printed lines as the course's solver. Minibatches come from NumPy's global generator,
as in the course. For fast training use `tfcs231n.captioning.solver.CaptioningSolver`.
"""

from tfcs231n.course import optim
from tfcs231n.course.coco_utils import sample_coco_minibatch


class CaptioningSolver:
    """Trains a `tfcs231n.course.classifiers.rnn.CaptioningRNN` on the course's data dict.

    Args:
        model: the course's CaptioningRNN (``params`` and ``loss(features, captions)``).
        data: the dict from `tfcs231n.course.coco_utils.load_coco_data`.
        update_rule: "sgd", "sgd_momentum", "rmsprop" or "adam".
        optim_config: the update rule's hyper-parameters, e.g. {"learning_rate": 5e-3}.
        lr_decay: learning-rate factor applied after each epoch.
        batch_size, num_epochs, print_every, verbose: as named.
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.data = data
        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        if kwargs:
            extra = ", ".join('"%s"' % k for k in kwargs)
            raise ValueError("Unrecognized arguments %s" % extra)
        if not hasattr(optim, self.update_rule):
            raise ValueError('Invalid update_rule "%s"' % self.update_rule)
        self.update_rule = getattr(optim, self.update_rule)
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        captions, features, _ = sample_coco_minibatch(self.data, batch_size=self.batch_size,
                                                      split="train")
        loss, grads = self.model.loss(features, captions)
        self.loss_history.append(loss)
        for name, w in self.model.params.items():
            next_w, config = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w
            self.optim_configs[name] = config

    def train(self):
        """Runs num_epochs * max(num_train // batch_size, 1) updates."""
        num_train = self.data["train_captions"].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print("(Iteration %d / %d) loss: %f"
                      % (t + 1, num_iterations, self.loss_history[-1]))
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config["learning_rate"] *= self.lr_decay  # set by the rule's first step
