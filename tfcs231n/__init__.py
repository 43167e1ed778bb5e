"""tfcs231n: the CS231n assignment-3 material and d2l's computer-vision chapter in TF 2 / Keras 3.

Importing the package only checks the environment (`check_environment`); every module
imports TensorFlow itself, so the console command starts quickly.
"""

import os
import warnings


def check_environment(environ=os.environ):
    """Warns (RuntimeWarning) about settings under which TensorFlow computes wrong numbers.

    TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1 lets oneDNN keep every convolution's weights from their
    first use. Measured with TF 2.21: a convolution then ignores later changes to its kernel
    (training no longer changes what the model computes) and returns wrong input gradients
    (SqueezeNet's gradient w.r.t. the image off by 78 % of its largest value), which is what
    saliency, fooling images, class visualization and style transfer are made of.
    """
    value = environ.get("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "").strip().lower()
    onednn_off = environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower() in ("0", "false")
    if value not in ("", "0", "false") and not onednn_off:
        warnings.warn(
            f"TF_ONEDNN_ASSUME_FROZEN_WEIGHTS={value} makes TensorFlow's convolutions keep "
            "their first weights: training stops changing them and image gradients "
            "(saliency, fooling, class visualization, style transfer) come out wrong; unset "
            "it unless you only run inference", RuntimeWarning, stacklevel=2)


check_environment()
