"""The course's `cs231n/optim.py` update rules on NumPy arrays, for `CaptioningSolver`.

Each rule is ``next_w, config = rule(w, dw, config)``; `config` holds the
hyper-parameters (the course's defaults) and the rule's running state.
"""

import numpy as np


def sgd(w, dw, config=None):
    """w - learning_rate * dw (learning_rate 1e-2)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """Momentum 0.9: v = momentum * v - learning_rate * dw; w + v."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp: decay_rate 0.99, epsilon 1e-8, learning_rate 1e-2."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    rate = config["decay_rate"]
    config["cache"] = rate * config["cache"] + (1 - rate) * dw * dw
    step = config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return w - step, config


def adam(w, dw, config=None):
    """Adam with bias correction: beta1 0.9, beta2 0.999, epsilon 1e-8, learning_rate 1e-3."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw
    m_hat = config["m"] / (1 - b1 ** config["t"])
    v_hat = config["v"] / (1 - b2 ** config["t"])
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
