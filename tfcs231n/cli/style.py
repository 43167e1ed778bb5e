"""`tfcs231n style CONTENT STYLE -o OUT.png`.

Images are files, or ``skimage:NAME`` for a photo shipped in scikit-image (chelsea, coffee,
astronaut, immunohistochemistry, ...). Next to OUT.png go OUT_loss.png (the three losses),
OUT_snapshots/ (every --snapshot-every steps) and OUT.json (settings and losses).
"""

import json
import os

from tfcs231n.cli.args import at_least_one, at_least_zero, random_seed

PRESET_ALIASES = {"course": "course-composition-vii"}
# tfcs231n.style.presets.PRESETS' keys, listed here so `--help` need not import TensorFlow
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
    """(preset name, its `Preset`) for the CLI's --preset / --backbone pair."""
    from tfcs231n.style.presets import PRESET_FOR_BACKBONE, PRESETS

    name = PRESET_ALIASES.get(preset, preset) or PRESET_FOR_BACKBONE[backbone or "vgg16-hed"]
    tuned_for = PRESETS[name].config.backbone_name
    if backbone and backbone != tuned_for:
        raise ValueError(f"preset {name} is tuned for the {tuned_for} backbone; drop "
                         f"--preset to use {backbone}'s own recipe "
                         f"({PRESET_FOR_BACKBONE[backbone]})")
    return name, PRESETS[name]


def _image(text):
    """A file path as given (style_transfer loads it once), or a scikit-image sample."""
    from tfcs231n.data.images import read_image

    return read_image(text) if text.startswith("skimage:") else text


def _save_png(pixels, path):
    from PIL import Image

    from tfcs231n._io import atomic_path

    with atomic_path(path) as tmp:  # Ctrl-C during a save never leaves half a PNG
        Image.fromarray(pixels).save(tmp)
    return path


def style(args):
    import dataclasses

    from tfcs231n import plotting
    from tfcs231n.style.images import load_image
    from tfcs231n.style.optimize import style_transfer

    name, preset = resolve_preset(args.preset, args.backbone)
    flags = {"num_iterations": args.steps, "optimizer": args.optimizer,
             "image_size": args.size, "style_size": args.style_size,
             "init_random": None if args.init is None else args.init == "random",
             "weights": args.weights}
    config = dataclasses.replace(
        preset.config, **{k: v for k, v in flags.items() if v is not None},
        scales=args.scales, preserve_colors=args.preserve_color, seed=args.seed,
        snapshot_every=args.snapshot_every, jit_compile=args.xla)
    mask = None
    if args.mask:
        mask = load_image(_image(args.mask)).mean(axis=-1) / 255.0  # (H, W) in [0, 1]
    stem = os.path.splitext(args.out)[0]
    snaps = f"{stem}_snapshots"

    def snapshot(step, pixels):
        _save_png(pixels, os.path.join(snaps, f"step{step:05d}.png"))
        _save_png(pixels, args.out)  # the latest image is always on disk

    result = style_transfer(_image(args.content), _image(args.style), config, style_mask=mask,
                            on_snapshot=snapshot, progress=not args.quiet)
    _save_png(result.pixels, args.out)
    plotting.plot_style_losses(result.history, f"{stem}_loss.png",
                               f"{name}: {args.content} + {args.style}")
    h = result.history
    summary = {
        "preset": name, "backbone": config.backbone_name, "steps": result.steps,
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
