"""`tfcs231n saliency|fool|classviz IMAGE...` and `tfcs231n squeezenet ...`.

The classifier is the offline synthetic SqueezeNet by default (`--weights synthetic`, 64 px,
24 colour x shape classes) or real ImageNet SqueezeNet weights (`--weights FILE`: a
torchvision .pth, the course's TF checkpoint, or a converted .weights.h5; 224 px).
"""

import os

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
    p.add_argument("--max-iters", type=int, default=100)
    p.add_argument("--weights", default="synthetic", **common)
    p.add_argument("-o", "--out", default="fooling", help="output directory")
    p.set_defaults(run=fool)

    p = sub.add_parser("classviz", help="class visualizations (gradient ascent) as PNGs")
    p.add_argument("classes", nargs="+", metavar="CLASS", help="class ids or names")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", default="synthetic", **common)
    p.add_argument("-o", "--out", default="classviz", help="output directory")
    p.set_defaults(run=classviz)

    p = sub.add_parser("squeezenet", help="SqueezeNet weights: train the offline classifier, "
                       "convert or download ImageNet weights")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    t = verbs.add_parser("train-synthetic", help="train (or show) the cached offline classifier")
    t.add_argument("--retrain", action="store_true", help="ignore the cache")
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
            from tfcs231n.synthetic_classifier import synthetic_classifier

            self.model, info = synthetic_classifier()
            self.size = info["config"]["image_size"]
            self.names = info["class_names"]
        else:
            from tfcs231n.squeezenet import SqueezeNet

            if not os.path.isfile(weights) and not os.path.isfile(f"{weights}.index"):
                raise SystemExit(f"no weights file {weights}")
            self.model, self.size, self.names = SqueezeNet(weights=weights), 224, None

    def class_id(self, text):
        if text.isdigit():
            value = int(text)
            limit = self.model.output_shape[-1]
            if value >= limit:
                raise SystemExit(f"class {value} out of range [0, {limit})")
            return value
        if self.names and text in self.names:
            return self.names.index(text)
        hint = f"one of: {', '.join(self.names)}" if self.names else "a class id"
        raise SystemExit(f"unknown class {text!r}; use {hint}")

    def name(self, i):
        return self.names[i] if self.names else str(i)

    def load(self, paths):
        """Images as preprocessed (N, S, S, 3) float32; grayscale and RGBA are converted."""
        import numpy as np
        from PIL import Image, UnidentifiedImageError

        from tfcs231n.squeezenet import preprocess_image

        images = []
        for path in paths:
            try:
                with Image.open(path) as im:
                    images.append(np.asarray(im.convert("RGB").resize((self.size, self.size),
                                                                       Image.BILINEAR)))
            except (FileNotFoundError, UnidentifiedImageError, OSError) as e:
                raise SystemExit(f"cannot read image {path}: {e}") from e
        return preprocess_image(np.stack(images))


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _heat(saliency_map):
    import numpy as np

    m = np.asarray(saliency_map, np.float64)
    return m / m.max() if m.max() > 0 else m


def saliency(args):
    import numpy as np

    from tfcs231n import attribution, plotting, visualization
    from tfcs231n.squeezenet import deprocess_image

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
    for i, path in enumerate(args.images):
        row = [(deprocess_image(X[i]), f"{clf.name(y[i])} (score {scores[i, y[i]]:.2f})", None)]
        row += [(_heat(results[m][i]), m, "hot") for m in methods]
        out = plotting.image_rows([row], os.path.join(args.out, f"{_stem(path)}.png"))
        print(f"wrote {out}")
    return 0


def fool(args):
    import numpy as np

    from tfcs231n import plotting, visualization
    from tfcs231n.squeezenet import deprocess_image

    clf = _Classifier(args.weights)
    X = clf.load(args.images)
    target = clf.class_id(args.target)
    os.makedirs(args.out, exist_ok=True)
    status = 0
    for x, path in zip(X, args.images):
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
        out = plotting.image_rows([row], os.path.join(args.out, f"{_stem(path)}.png"))
        print(f"wrote {out}: fooled in {steps} steps, L-inf change {np.abs(diff).max():.3f}")
    return status


def classviz(args):
    from tfcs231n import plotting, visualization
    from tfcs231n.squeezenet import deprocess_image

    clf = _Classifier(args.weights)
    os.makedirs(args.out, exist_ok=True)
    for text in args.classes:
        target = clf.class_id(text)
        image = visualization.create_class_visualization(
            target, clf.model, image_size=clf.size, num_iterations=args.iterations,
            seed=args.seed)
        name = clf.name(target).replace(" ", "_")
        out = plotting.image_rows([[(deprocess_image(image[0]), clf.name(target), None)]],
                                  os.path.join(args.out, f"{target:04d}-{name}.png"), size=3.5)
        print(f"wrote {out}")
    return 0


def train_synthetic(args):
    from tfcs231n.synthetic_classifier import cache_paths, ClassifierConfig, synthetic_classifier

    _, info = synthetic_classifier(retrain=args.retrain)
    print(f"validation accuracy {info['val_accuracy']:.4f} after {info['train_seconds']} s "
          f"of training; weights in {cache_paths(ClassifierConfig())[0]}")
    return 0


def convert(args):
    from tfcs231n.squeezenet_weights import convert_squeezenet

    print(f"wrote {convert_squeezenet(args.src, args.dst)}")
    return 0


def download(args):
    from tfcs231n.squeezenet_weights import download_squeezenet

    print(f"weights in {download_squeezenet(args.kind)}")
    return 0
