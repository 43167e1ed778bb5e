"""PyTorch state dicts (`torchref.gan`'s layouts) into the Keras GANs of `tfcs231n.gan.models`.

Used by the parity tests and `tfcs231n bench gan` to start both frameworks from the same
weights.
"""

import keras
import numpy as np


def load_torch_state(model, state):
    """Copies a `torchref.gan` state dict (NumPy arrays, PyTorch layouts) into `model`.

    Layers are matched in order (Dense <-> Linear, Conv2D <-> Conv2d, Conv2DTranspose <->
    ConvTranspose2d, BatchNormalization <-> BatchNorm). PyTorch flattens feature maps as
    (C, H, W) and Keras as (H, W, C), so the Dense after a Flatten gets its input rows
    permuted, and a Dense feeding a Reshape to (H, W, C) (with its batch norm) its outputs.

    Args:
        model: one of `tfcs231n.gan.models`'s Sequential models.
        state: dict name -> array in `state_dict()` order; `num_batches_tracked` is ignored.
    """
    from tfcs231n import interop
    groups = {}
    for key, value in state.items():
        prefix, name = key.rsplit(".", 1)
        if name != "num_batches_tracked":
            groups.setdefault(prefix, {})[name] = np.asarray(value)
    groups = list(groups.values())
    layers = model.layers
    weighted = [i for i, layer in enumerate(layers) if layer.weights]
    if len(weighted) != len(groups):
        raise ValueError(f"model has {len(weighted)} layers with weights but the state dict "
                         f"{len(groups)} modules")
    out_perm = None  # set by a Dense that feeds a Reshape; applies to its batch norms too
    for i, g in zip(weighted, groups):
        layer = layers[i]
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = interop.dense_torch_to_keras(g["weight"]), g["bias"]
            before = _flatten_before(layers, i)
            if before is not None:
                kernel = kernel[_chw_index(*before)]
            out_perm = None
            after = _reshape_after(layers, i)
            if after is not None:
                out_perm = _chw_index(*after)
                kernel, bias = kernel[:, out_perm], bias[out_perm]
            layer.set_weights([kernel, bias])
        elif isinstance(layer, keras.layers.BatchNormalization):
            arrays = [g["weight"], g["bias"], g["running_mean"], g["running_var"]]
            if out_perm is not None and arrays[0].shape == out_perm.shape:
                arrays = [a[out_perm] for a in arrays]
            layer.set_weights(arrays)
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            out_perm = None
            layer.set_weights([interop.conv_transpose_torch_to_keras(g["weight"]), g["bias"]])
        elif isinstance(layer, keras.layers.Conv2D):
            out_perm = None
            layer.set_weights([interop.conv_torch_to_keras(g["weight"]), g["bias"]])
        else:
            raise ValueError(f"no PyTorch counterpart for layer {layer.name}")
    return model


def _chw_index(h, w, c):
    """index[k] = PyTorch's (C, H, W) flat position of Keras's (H, W, C) flat position k."""
    return np.arange(h * w * c).reshape(c, h, w).transpose(1, 2, 0).ravel()


def _flatten_before(layers, i):
    """(H, W, C) of the feature map a Flatten hands to layer i, else None."""
    for layer in reversed(layers[:i]):
        if isinstance(layer, keras.layers.Flatten):
            shape = layer.input.shape[1:]
            return tuple(shape) if len(shape) == 3 else None
        if layer.weights:
            return None
    return None


def _reshape_after(layers, i):
    """(H, W, C) of a Reshape that layer i's output reaches (through batch norm), else None."""
    for layer in layers[i + 1:]:
        if isinstance(layer, keras.layers.Reshape):
            shape = layer.output.shape[1:]
            return tuple(shape) if len(shape) == 3 else None
        if layer.weights and not isinstance(layer, keras.layers.BatchNormalization):
            return None
    return None
