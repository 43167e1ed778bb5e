"""`tfcs231n saliency|fool|classviz IMAGE...` and `tfcs231n squeezenet ...`.

The classifier is the offline synthetic SqueezeNet by default (`--weights synthetic`, 64 px,
24 colour x shape classes) or real ImageNet SqueezeNet weights (`--weights FILE`: a
torchvision .pth, the course's TF checkpoint, or a converted .weights.h5; 224 px).
Images are files or ``skimage:NAME``; `--example N` uses N validation scenes of the
synthetic world instead (written to OUT/inputs/).
"""

import os

from tfcs231n.cli.args import at_least_one, positive_float, random_seed

IMAGES_HELP = "image files or skimage:NAME (a photo shipped with scikit-image, e.g. chelsea)"
EXAMPLE_HELP = ("use N validation scenes of the synthetic world (never seen in training) as "
                "the images; they are written to OUT/inputs/")
CLASS_HELP = "class id or name (any case; '_' or space, e.g. red_circle)"
FOOL_EXIT = ("Exit status: 0 when every image was fooled, else the number of images still "
             "not fooled (at most 100); the others' PNGs are written either way.")

METHODS = ("saliency", "smoothgrad", "integrated-gradients", "grad-cam")


def add_parsers(sub):
    common = dict(help="classifier weights: 'synthetic' (offline default) or a SqueezeNet "
                  "weights file (.pth, course .ckpt, .weights.h5)")

    p = sub.add_parser("saliency", help="saliency / SmoothGrad / IG / Grad-CAM maps as PNGs")
    p.add_argument("images", nargs="*", metavar="IMAGE", help=IMAGES_HELP)
    p.add_argument("--example", type=at_least_one, metavar="N", help=EXAMPLE_HELP)
    p.add_argument("--label", help="class to explain (default: the prediction): "
                   + CLASS_HELP)
    p.add_argument("--method", choices=[*METHODS, "all"], default="all")
    p.add_argument("--weights", default="synthetic", **common)
    p.add_argument("-o", "--out", default="saliency", help="output directory")
    p.set_defaults(run=saliency)

    p = sub.add_parser("fool", help="fooling images towards a target class, as PNGs",
                       description="Fooling images (the course's normalised gradient ascent) "
                       "towards a target class, one PNG per image. " + FOOL_EXIT)
    p.add_argument("images", nargs="*", metavar="IMAGE", help=IMAGES_HELP)
    p.add_argument("--example", type=at_least_one, metavar="N", help=EXAMPLE_HELP)
    p.add_argument("--target", required=True, help="class to fool the model into: "
                   + CLASS_HELP)
    p.add_argument("--max-iters", type=at_least_one, default=100,
                   help="gradient steps before giving up (default: %(default)s)")
    p.add_argument("--lr", type=positive_float, default=1.0,
                   help="step length, in preprocessed units (default: %(default)s, the "
                   "course's)")
    p.add_argument("--weights", default="synthetic", **common)
    p.add_argument("-o", "--out", default="fooling", help="output directory")
    p.set_defaults(run=fool)

    p = sub.add_parser("classviz", help="class visualizations (gradient ascent) as PNGs")
    p.add_argument("classes", nargs="+", metavar="CLASS", help=CLASS_HELP + "; several")
    p.add_argument("--iterations", type=at_least_one, default=100)
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--weights", default="synthetic", **common)
    p.add_argument("-o", "--out", default="classviz", help="output directory")
    p.set_defaults(run=classviz)

    p = sub.add_parser("squeezenet", help="SqueezeNet weights: train the offline classifier, "
                       "convert or download ImageNet weights")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    t = verbs.add_parser("train-synthetic", help="show the offline classifier (cached or "
                         "shipped), or train your own with --retrain")
    t.add_argument("--retrain", action="store_true",
                   help="train from scratch (about 3 CPU minutes) into the data directory; "
                        "that copy is used from then on")
    t.set_defaults(run=train_synthetic)
    c = verbs.add_parser("convert", help="torchvision .pth or course .ckpt -> .weights.h5")
    c.add_argument("src")
    c.add_argument("dst")
    c.set_defaults(run=convert)
    d = verbs.add_parser("download", help="download ImageNet SqueezeNet 1.1 weights")
    d.add_argument("--kind", default="torchvision")
    d.set_defaults(run=download)


class _Classifier:
    """A model plus what the CLI needs around it: input size and class names."""

    def __init__(self, weights):
        if weights == "synthetic":
            from tfcs231n.visualization.synthetic_classifier import CLASS_VISUALIZATION, synthetic_classifier

            self.model, self.info = synthetic_classifier()
            self.size = self.info["config"]["image_size"]
            self.names = self.info["class_names"]
            self.classviz_settings = CLASS_VISUALIZATION
            self.synthetic = True
        else:
            from tfcs231n.visualization.squeezenet import SqueezeNet

            if not os.path.isfile(weights) and not os.path.isfile(f"{weights}.index"):
                raise FileNotFoundError(f"no weights file {weights}")
            # A file that is not SqueezeNet weights raises ValueError naming it: cli.main
            # turns that into the message a person sees.
            self.model, self.size, self.names = SqueezeNet(weights=weights), 224, None
            self.classviz_settings = {}  # the course's defaults are for ImageNet SqueezeNet
            self.synthetic = False

    def class_id(self, text):
        """A class id from an id or a name in any case, with '_' or spaces ("Blue_Square")."""
        if text.isdigit():
            value = int(text)
            limit = self.model.output_shape[-1]
            if value >= limit:
                raise ValueError(f"class {value} out of range [0, {limit})")
            return value
        wanted = _normalise(text)
        for i, name in enumerate(self.names or ()):
            if _normalise(name) == wanted:
                return i
        hint = f"one of: {', '.join(self.names)}" if self.names else "a class id"
        raise ValueError(f"unknown class {text!r}; use {hint}")

    def name(self, i):
        return self.names[i] if self.names else str(i)

    def load(self, paths):
        """Images (files or skimage:NAME) as preprocessed (N, S, S, 3) float32; grayscale
        and RGBA are converted, every image stretched to S x S."""
        import numpy as np
        from PIL import Image

        from tfcs231n.data.images import read_image
        from tfcs231n.visualization.squeezenet import preprocess_image

        images = [np.asarray(Image.fromarray(read_image(path)).resize(
            (self.size, self.size), Image.BILINEAR)) for path in paths]
        return preprocess_image(np.stack(images))

    def examples(self, n, out_dir):
        """`n` validation scenes of the synthetic world as PNGs in OUT/inputs/; their paths."""
        from PIL import Image

        from tfcs231n.visualization.squeezenet import deprocess_image
        from tfcs231n.visualization.synthetic_classifier import ClassifierConfig, classification_data

        if not self.synthetic:
            raise ValueError("--example needs --weights synthetic (the scenes are of the "
                             "synthetic world)")
        config = ClassifierConfig(**self.info["config"])
        X, y, _ = classification_data(config, "val")
        if n > len(X):
            raise ValueError(f"--example {n}: the synthetic world has {len(X)} validation "
                             "scenes")
        folder = os.path.join(out_dir, "inputs")
        os.makedirs(folder, exist_ok=True)
        paths = []
        for i, (x, label) in enumerate(zip(X[:n], y[:n])):
            name = self.names[label].replace(" ", "_")
            paths.append(os.path.join(folder, f"example-{i + 1}-{name}.png"))
            Image.fromarray(deprocess_image(x)).save(paths[-1])
        print(f"wrote {n} example scene{'s' * (n > 1)} to {folder}")
        return paths


def _normalise(name):
    return " ".join(name.replace("_", " ").split()).casefold()


def _inputs(clf, args):
    """The command's image paths: IMAGE... or --example N (one of the two)."""
    if args.example and args.images:
        raise ValueError("give IMAGE files or --example N, not both")
    if args.example:
        return clf.examples(args.example, args.out)
    if not args.images:
        raise ValueError("give IMAGE files (or skimage:NAME), or --example N for scenes of "
                         "the synthetic world")
    return args.images


def _out_paths(out_dir, paths):
    """One PNG per input, named after it; inputs that share a name (a/x.jpg, b/x.png) get
    -2, -3, ... rather than overwrite each other; skimage:NAME is named NAME."""
    from tfcs231n.data.images import PREFIX

    used, out = set(), []
    for path in paths:
        path = path[len(PREFIX):] if path.startswith(PREFIX) else path
        stem = name = os.path.splitext(os.path.basename(path))[0]
        k = 1
        while name in used:  # also when an input is itself called x-2
            k += 1
            name = f"{stem}-{k}"
        used.add(name)
        out.append(os.path.join(out_dir, f"{name}.png"))
    return out


def saliency(args):
    import numpy as np

    from tfcs231n import plotting
    from tfcs231n.visualization import attribution
    from tfcs231n.visualization import saliency as visualization
    from tfcs231n.visualization.squeezenet import deprocess_image

    clf = _Classifier(args.weights)
    label = clf.class_id(args.label) if args.label else None
    paths = _inputs(clf, args)
    X = clf.load(paths)
    scores = clf.model(X, training=False).numpy()
    y = np.full(len(X), label) if label is not None else scores.argmax(1)
    methods = METHODS if args.method == "all" else (args.method,)
    maps = {
        "saliency": lambda: visualization.compute_saliency_maps(X, y, clf.model),
        "smoothgrad": lambda: attribution.smoothgrad(X, y, clf.model),
        "integrated-gradients": lambda: np.abs(attribution.integrated_gradients(X, y, clf.model).map),
        "grad-cam": lambda: attribution.grad_cam(X, y, clf.model, "features_12"),
    }
    results = {m: np.asarray(maps[m]()) for m in methods}
    os.makedirs(args.out, exist_ok=True)
    for i, png in enumerate(_out_paths(args.out, paths)):
        row = [(deprocess_image(X[i]), f"{clf.name(y[i])} (score {scores[i, y[i]]:.2f})", None)]
        row += [(plotting.heat(results[m][i]), m, "hot") for m in methods]
        out = plotting.image_rows([row], png)
        print(f"wrote {out}")
    return 0


def fool(args):
    import numpy as np

    import sys

    from tfcs231n import plotting
    from tfcs231n.demo.visualization import magnified_difference
    from tfcs231n.visualization import saliency as visualization
    from tfcs231n.visualization.squeezenet import deprocess_image

    clf = _Classifier(args.weights)
    target = clf.class_id(args.target)
    paths = _inputs(clf, args)
    X = clf.load(paths)
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    for x, path, png in zip(X, paths, _out_paths(args.out, paths)):
        try:
            fooled, steps = visualization.make_fooling_image(
                x[None], target, clf.model, learning_rate=args.lr, max_iters=args.max_iters)
        except visualization.FoolingFailed as e:
            print(f"tfcs231n fool: {path}: still predicts {clf.name(e.predicted)!r}, not "
                  f"{clf.name(target)!r}, after {e.max_iters} steps; try --max-iters or --lr",
                  file=sys.stderr)
            failed += 1
            continue
        fooled = np.asarray(fooled)[0]
        diff = fooled - x
        pixels, factor = magnified_difference(diff)
        row = [(deprocess_image(x), "original", None),
               (deprocess_image(fooled), f"predicted {clf.name(target)}", None),
               (pixels, f"difference ×{factor:.0f} ({steps} steps)", None)]
        out = plotting.image_rows([row], png)
        print(f"wrote {out}: fooled in {steps} steps, L-inf change {np.abs(diff).max():.3f}")
    if failed:
        print(f"tfcs231n fool: {failed} of {len(paths)} images not fooled", file=sys.stderr)
    return min(failed, 100)


def classviz(args):
    from tfcs231n import plotting
    from tfcs231n.visualization import saliency as visualization
    from tfcs231n.visualization.squeezenet import deprocess_image

    clf = _Classifier(args.weights)
    os.makedirs(args.out, exist_ok=True)
    for text in args.classes:
        target = clf.class_id(text)
        image = visualization.create_class_visualization(
            target, clf.model, image_size=clf.size, num_iterations=args.iterations,
            seed=args.seed, **clf.classviz_settings)
        name = clf.name(target).replace(" ", "_")
        out = plotting.image_rows([[(deprocess_image(image[0]), clf.name(target), None)]],
                                  os.path.join(args.out, f"{target:04d}-{name}.png"), size=3.5)
        print(f"wrote {out}")
    return 0


def train_synthetic(args):
    from tfcs231n.visualization.synthetic_classifier import ClassifierConfig, cache_paths, shipped_paths, synthetic_classifier

    _, info = synthetic_classifier(retrain=args.retrain)
    config = ClassifierConfig(**info["config"])
    where = (shipped_paths if info["source"] == "shipped" else cache_paths)(config)[0]
    made = info.get("trained_with", {})
    print(f"validation accuracy {info['val_accuracy']:.4f}; {info['source']} weights: {where}\n"
          f"trained in {info['train_seconds']} s ({info['train_cpu_seconds']} CPU s) with "
          f"TensorFlow {made.get('tensorflow', '?')} on {made.get('cpus', '?')} "
          f"{made.get('machine', '?')} cores, {made.get('date', '?')}")
    return 0


def convert(args):
    from tfcs231n.visualization.squeezenet import convert_squeezenet

    print(f"wrote {convert_squeezenet(args.src, args.dst)}")
    return 0


def download(args):
    from tfcs231n.visualization.weights import download_squeezenet

    print(f"weights in {download_squeezenet(args.kind)}")
    return 0


