"""`tfcs231n saliency|fool|classviz IMAGE...` and `tfcs231n squeezenet ...`.

The classifier is the offline synthetic SqueezeNet by default (`--weights synthetic`, 64 px,
24 colour x shape classes) or real ImageNet SqueezeNet weights (`--weights FILE`: a
torchvision .pth, the course's TF checkpoint, or a converted .weights.h5; 224 px).
"""

import os

from tfcs231n.commands import at_least_one, random_seed

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
            from tfcs231n.synthetic_classifier import CLASS_VISUALIZATION, synthetic_classifier

            self.model, info = synthetic_classifier()
            self.size = info["config"]["image_size"]
            self.names = info["class_names"]
            self.classviz_settings = CLASS_VISUALIZATION
        else:
            from tfcs231n.squeezenet import SqueezeNet

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

        from tfcs231n.squeezenet import preprocess_image

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
    for i, png in enumerate(_out_paths(args.out, args.images)):
        row = [(deprocess_image(X[i]), f"{clf.name(y[i])} (score {scores[i, y[i]]:.2f})", None)]
        row += [(_heat(results[m][i]), m, "hot") for m in methods]
        out = plotting.image_rows([row], png)
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
    from tfcs231n import plotting, visualization
    from tfcs231n.squeezenet import deprocess_image

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
    from tfcs231n.synthetic_classifier import (ClassifierConfig, cache_paths, shipped_paths,
                                               synthetic_classifier)

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
    from tfcs231n.squeezenet_weights import convert_squeezenet

    print(f"wrote {convert_squeezenet(args.src, args.dst)}")
    return 0


def download(args):
    from tfcs231n.squeezenet_weights import download_squeezenet

    print(f"weights in {download_squeezenet(args.kind)}")
    return 0


def demo_section(out_dir, quick=True, seed=0):
    """The network-visualization part of `tfcs231n demo`, on the synthetic classifier."""
    import numpy as np

    from tfcs231n import attribution, plotting, report, sanity_checks, visualization
    from tfcs231n.squeezenet import deprocess_image
    from tfcs231n.synthetic_classifier import (CLASS_VISUALIZATION, ClassifierConfig,
                                               classification_data, synthetic_classifier)

    out_dir.mkdir(parents=True, exist_ok=True)
    model, info = synthetic_classifier(verbose=False)
    config = ClassifierConfig(**info["config"])
    names = info["class_names"]
    X, y, masks = classification_data(config, "val")
    n = 6
    X, y, masks = X[:n], y[:n], masks[:n]
    section = report.Section(
        "visualization", "Network visualization (SqueezeNet 1.1, synthetic classifier)",
        f"SqueezeNet 1.1 trained from scratch on the synthetic world's 24 colour x shape "
        f"classes ({info['val_accuracy']:.1%} validation accuracy). Attribution maps for "
        "unseen validation images, fooling images (the course's normalised gradient ascent, "
        "learning rate 1) and class visualizations (gradient ascent with L2, jitter, blur).")
    maps = {
        "saliency": visualization.compute_saliency_maps(X, y, model).numpy(),
        "SmoothGrad": attribution.smoothgrad(X, y, model, n_samples=10 if quick else 25,
                                             seed=seed).numpy(),
        "|Integrated Gradients|": np.abs(attribution.integrated_gradients(
            X, y, model, steps=20 if quick else 50).map.numpy()),
        "Grad-CAM": attribution.grad_cam(X, y, model, "features_12").numpy(),
    }
    rows = [[(deprocess_image(x), names[c], None) for x, c in zip(X, y)]]
    rows += [[(_heat(m), name, "hot") for m in ms] for name, ms in maps.items()]
    section.figure(plotting.image_rows(rows, out_dir / "attribution.png", size=1.8),
                   "rows: image, saliency, SmoothGrad, |Integrated Gradients|, Grad-CAM")
    section.table("attribution mass inside the object (mean over the images)",
                  ["method", "mass inside", "object area"],
                  [[k, round(float(sanity_checks.mass_inside(m, masks).mean()), 3),
                    round(float(masks.mean()), 3)] for k, m in maps.items()])

    fool_rows, steps, linf = [], [], []
    for x, label in zip(X[:4], y[:4]):
        target = int((label + 1 + seed) % len(names))
        fooled, k = visualization.make_fooling_image(x[None], target, model)
        diff = np.asarray(fooled)[0] - x
        steps.append(k)
        linf.append(float(np.abs(diff).max()))
        fool_rows.append([(deprocess_image(x), names[label], None),
                          (deprocess_image(np.asarray(fooled)[0]), f"-> {names[target]}", None),
                          (deprocess_image(diff, rescale=True), f"difference x, {k} steps",
                           None)])
    section.figure(plotting.image_rows(fool_rows, out_dir / "fooling.png", size=2.2),
                   "original, fooling image (predicted as the target), difference magnified")

    targets = [0, 6, 13, 19] if quick else list(range(len(names)))
    iterations = 50 if quick else 100
    viz = [visualization.create_class_visualization(
        t, model, image_size=config.image_size, num_iterations=iterations, seed=seed,
        **CLASS_VISUALIZATION) for t in targets]
    section.figure(plotting.image_rows(
        [[(deprocess_image(v[0]), names[t], None) for v, t in zip(viz, targets)]],
        out_dir / "class-visualization.png", size=2.4),
        f"class visualizations, {iterations} iterations each")
    section.metrics = {"val_accuracy": round(info["val_accuracy"], 4),
                       "saliency_mass_inside": round(float(sanity_checks.mass_inside(
                           maps["saliency"], masks).mean()), 3),
                       "fooling_mean_steps": float(np.mean(steps)),
                       "fooling_mean_linf": round(float(np.mean(linf)), 4)}
    return section
