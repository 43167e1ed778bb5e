"""`tfcs231n saliency|fool|classviz IMAGE...` and `tfcs231n squeezenet ...`.

The classifier is the offline synthetic SqueezeNet by default (`--weights synthetic`, 64 px,
24 colour x shape classes) or real ImageNet SqueezeNet weights (`--weights FILE`: a
torchvision .pth, the course's TF checkpoint, or a converted .weights.h5; 224 px).
"""

import os

from tfcs231n.cli.args import at_least_one, random_seed

METHODS = ("saliency", "smoothgrad", "integrated-gradients", "grad-cam")


def add_parsers(sub):
    common = dict(help="classifier weights: 'synthetic' (offline default) or a SqueezeNet "
                  "weights file (.pth, course .ckpt, .weights.h5)")

    p = sub.add_parser("saliency", help="saliency / SmoothGrad / IG / Grad-CAM maps as PNGs")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--label", help="class id or name to explain (default: the prediction)")
    p.add_argument("--method", choices=[*METHODS, "all"], default="all")
    p.add_argument("--weights", default="synthetic", **common)
    p.add_argument("-o", "--out", default="saliency", help="output directory")
    p.set_defaults(run=saliency)

    p = sub.add_parser("fool", help="fooling images towards a target class, as PNGs")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--target", required=True, help="class id or name to fool the model into")
    p.add_argument("--max-iters", type=at_least_one, default=100)
    p.add_argument("--weights", default="synthetic", **common)
    p.add_argument("-o", "--out", default="fooling", help="output directory")
    p.set_defaults(run=fool)

    p = sub.add_parser("classviz", help="class visualizations (gradient ascent) as PNGs")
    p.add_argument("classes", nargs="+", metavar="CLASS", help="class ids or names")
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

            self.model, info = synthetic_classifier()
            self.size = info["config"]["image_size"]
            self.names = info["class_names"]
            self.classviz_settings = CLASS_VISUALIZATION
        else:
            from tfcs231n.visualization.squeezenet import SqueezeNet

            if not os.path.isfile(weights) and not os.path.isfile(f"{weights}.index"):
                raise FileNotFoundError(f"no weights file {weights}")
            # A file that is not SqueezeNet weights raises ValueError naming it: cli.main
            # turns that into the message a person sees.
            self.model, self.size, self.names = SqueezeNet(weights=weights), 224, None
            self.classviz_settings = {}  # the course's defaults are for ImageNet SqueezeNet

    def class_id(self, text):
        if text.isdigit():
            value = int(text)
            limit = self.model.output_shape[-1]
            if value >= limit:
                raise ValueError(f"class {value} out of range [0, {limit})")
            return value
        name = text.replace("_", " ")  # as in the PNG names classviz writes
        if self.names and name in self.names:
            return self.names.index(name)
        hint = f"one of: {', '.join(self.names)}" if self.names else "a class id"
        raise ValueError(f"unknown class {text!r}; use {hint}")

    def name(self, i):
        return self.names[i] if self.names else str(i)

    def load(self, paths):
        """Images as preprocessed (N, S, S, 3) float32; grayscale and RGBA are converted."""
        import numpy as np
        from PIL import Image, UnidentifiedImageError

        from tfcs231n.visualization.squeezenet import preprocess_image

        images = []
        for path in paths:
            try:
                with Image.open(path) as im:
                    images.append(np.asarray(im.convert("RGB").resize((self.size, self.size),
                                                                       Image.BILINEAR)))
            except (FileNotFoundError, UnidentifiedImageError, OSError) as e:
                raise ValueError(f"cannot read image {path}: {e}") from e
        return preprocess_image(np.stack(images))


def _out_paths(out_dir, paths):
    """One PNG per input, named after it; inputs that share a name (a/x.jpg, b/x.png) get
    -2, -3, ... rather than overwrite each other."""
    used, out = set(), []
    for path in paths:
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
    X = clf.load(args.images)
    scores = clf.model(X, training=False).numpy()
    y = np.full(len(X), clf.class_id(args.label)) if args.label else scores.argmax(1)
    methods = METHODS if args.method == "all" else (args.method,)
    maps = {
        "saliency": lambda: visualization.compute_saliency_maps(X, y, clf.model),
        "smoothgrad": lambda: attribution.smoothgrad(X, y, clf.model),
        "integrated-gradients": lambda: np.abs(attribution.integrated_gradients(X, y, clf.model).map),
        "grad-cam": lambda: attribution.grad_cam(X, y, clf.model, "features_12"),
    }
    results = {m: np.asarray(maps[m]()) for m in methods}
    os.makedirs(args.out, exist_ok=True)
    for i, png in enumerate(_out_paths(args.out, args.images)):
        row = [(deprocess_image(X[i]), f"{clf.name(y[i])} (score {scores[i, y[i]]:.2f})", None)]
        row += [(plotting.heat(results[m][i]), m, "hot") for m in methods]
        out = plotting.image_rows([row], png)
        print(f"wrote {out}")
    return 0


def fool(args):
    import numpy as np

    from tfcs231n import plotting
    from tfcs231n.visualization import saliency as visualization
    from tfcs231n.visualization.squeezenet import deprocess_image

    clf = _Classifier(args.weights)
    X = clf.load(args.images)
    target = clf.class_id(args.target)
    os.makedirs(args.out, exist_ok=True)
    status = 0
    for x, path, png in zip(X, args.images, _out_paths(args.out, args.images)):
        try:
            fooled, steps = visualization.make_fooling_image(x[None], target, clf.model,
                                                             max_iters=args.max_iters)
        except visualization.FoolingFailed as e:
            print(f"{path}: {e}")
            status = 1
            continue
        fooled = np.asarray(fooled)[0]
        diff = fooled - x
        row = [(deprocess_image(x), "original", None),
               (deprocess_image(fooled), f"predicted {clf.name(target)}", None),
               (deprocess_image(diff, rescale=True), f"difference, magnified ({steps} steps)",
                None)]
        out = plotting.image_rows([row], png)
        print(f"wrote {out}: fooled in {steps} steps, L-inf change {np.abs(diff).max():.3f}")
    return status


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


