"""The course's `cs231n/classifiers/squeezenet.py`: SqueezeNet with `.net` and NUM_CLASSES.

A view over the native `tfcs231n.visualization.squeezenet.SqueezeNet` (torchvision's
SqueezeNet 1.1, the course's architecture): `net` is a `keras.Sequential` of the native
layers, grouped as the course's model groups them, so the course's own
``extract_features`` (which walks ``cnn.net.layers[:-2]``) returns the course's 12 feature
maps. Calling the model runs the native network; the weights are shared.
"""

import keras

from tfcs231n.visualization import squeezenet as native

NUM_CLASSES = native.NUM_CLASSES


class SqueezeNet(keras.Model):
    """The course's SqueezeNet: preprocessed images (N, H, W, 3) -> scores (N, num_classes).

    Args:
        num_classes: the course's 1000 by default.
        model: an existing native SqueezeNet to wrap (for example the offline
            `tfcs231n.visualization.synthetic_classifier.synthetic_classifier()[0]`);
            None builds a fresh one with `num_classes` outputs.

    ``model.load_weights(path)`` reads the course's checkpoint, a torchvision state dict or
    a `.weights.h5` (see `tfcs231n.visualization.weights`).
    """

    def __init__(self, num_classes=NUM_CLASSES, model=None, **kwargs):
        super().__init__(**kwargs)
        if model is None:
            model = native.SqueezeNet(num_classes)
        self.native = model
        self.num_classes = int(model.output_shape[-1])
        names = [layer.name for layer in model.layers]

        def group(*wanted):
            return keras.Sequential([model.get_layer(n) for n in wanted if n in names])

        self.net = keras.Sequential(
            [group("input_size_check", "features_0", "features_1")]  # conv + ReLU
            + [model.get_layer(f"features_{i}") for i in range(2, 13)]
            + [group("classifier_0", "classifier_1", "classifier_2"),
               model.get_layer("classifier_3")]
        )

    def call(self, x, save_path=None):
        return self.native(x)

    def load_weights(self, filepath, *args, **kwargs):
        """Loads a SqueezeNet weight file (any format the native loader reads)."""
        from tfcs231n.visualization.weights import load_squeezenet_weights

        load_squeezenet_weights(self.native, filepath)
