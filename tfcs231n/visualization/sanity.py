"""Measurements that tell whether an explanation explains anything.

* `mass_inside`: how much of a saliency map falls on the object (the synthetic world knows
  its pixel masks).
* `randomized_copy` + `rank_correlation`: the model-randomisation test of Adebayo et al.,
  "Sanity Checks for Saliency Maps" (2018): a map that barely changes when the trained
  weights are replaced by random ones reflects the input, not the model.
* `fooling_report`: success rate, steps and L-infinity change of fooling images.
"""

import keras
import numpy as np

from tfcs231n.visualization.saliency import FoolingFailed


def mass_inside(maps, masks):
    """Fraction of each map's total mass inside its mask.

    Args:
        maps: non-negative (N, H, W). masks: bool (N, H, W).

    Returns:
        (N,) fractions in [0, 1].
    """
    maps, masks = np.asarray(maps, np.float64), np.asarray(masks, bool)
    if maps.shape != masks.shape:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} must have one shape")
    total = maps.reshape(len(maps), -1).sum(1)
    return (maps * masks).reshape(len(maps), -1).sum(1) / np.maximum(total, 1e-30)


def _ranks(x):
    """Ranks 0..n-1 with ties given their average rank (as Spearman's rho needs)."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, ranks)
    return (sums / counts)[inverse]


def rank_correlation(a, b):
    """Spearman's rank correlation of two maps of any shape."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra @ rb) / np.sqrt((ra @ ra) * (rb @ rb)))


def randomized_copy(model, seed=0, initialise=None):
    """The same architecture with freshly initialised (random) weights.

    Args:
        initialise: ``initialise(model, seed)`` re-initialises the clone the way the model
            was initialised for training. Use it: with Keras's default initialisers a deep
            ReLU net can come out mostly dead, and a dead net's flat saliency "differs" from
            the trained one for the wrong reason.
    """
    keras.utils.set_random_seed(seed)
    clone = keras.models.clone_model(model)  # a functional model's clone is built, weights new
    if initialise is not None:
        initialise(clone, seed)
    return clone


def fooling_report(model, images, labels, num_classes, make_fooling_image, seed=0, **kwargs):
    """Tries to fool the model on every image towards a random different class.

    Args:
        make_fooling_image: ``(X, target_y, model, **kwargs) -> (X_fooling, steps)`` that
            raises `visualization.FoolingFailed` when it runs out of steps (a failure
            counted here); any other error propagates.

    Returns:
        dict with success_rate, steps (list), mean_linf and max_linf (in preprocessed
        units), targets, and the fooled images (N, H, W, C) (originals where it failed).
    """
    rng = np.random.default_rng(seed)
    steps, linf, fooled, targets, failures = [], [], [], [], 0
    for image, label in zip(images, labels):
        target = int((label + rng.integers(1, num_classes)) % num_classes)  # never the label
        targets.append(target)
        try:
            x_fool, n = make_fooling_image(image[None], target, model, **kwargs)
        except FoolingFailed:
            failures += 1
            fooled.append(image)
            continue
        x_fool = np.asarray(x_fool)[0]
        steps.append(int(n))
        linf.append(float(np.abs(x_fool - image).max()))
        fooled.append(x_fool)
    return {
        "success_rate": 1 - failures / len(images), "steps": steps, "targets": targets,
        "mean_linf": float(np.mean(linf)) if linf else float("nan"),
        "max_linf": float(np.max(linf)) if linf else float("nan"),
        "images": np.stack(fooled),
    }
