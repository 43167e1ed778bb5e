"""`tfcs231n augment IMAGE`, `tfcs231n finetune EXPERIMENT`, `tfcs231n resnet18 convert`.

Experiments run offline on the synthetic world (see `tfcs231n.vision.finetune`); `--quick` runs
the small versions the demo and the notebooks use.
"""

import os

from tfcs231n.cli.args import at_least_one, random_seed

EXPERIMENTS = ("augmentation", "hotdog", "mnist")


def add_parsers(sub):
    p = sub.add_parser("augment", help="a grid of random augmentations of an image (d2l apply)")
    p.add_argument("image", help="an image file or skimage:NAME (e.g. skimage:chelsea)")
    p.add_argument("--flip", action="store_true", help="random horizontal flip")
    p.add_argument("--crop", type=at_least_one, metavar="SIZE", help="RandomResizedCrop to SIZE")
    p.add_argument("--jitter", type=float, nargs=4, metavar=("B", "C", "S", "H"),
                   help="ColorJitter brightness contrast saturation hue")
    p.add_argument("--rows", type=at_least_one, default=2)
    p.add_argument("--cols", type=at_least_one, default=4)
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("-o", "--out", default="augment.png", help="PNG to write")
    p.set_defaults(run=augment_image)

    p = sub.add_parser("finetune", help="offline augmentation / fine-tuning / MNIST CNN runs")
    p.add_argument("experiment", choices=EXPERIMENTS)
    p.add_argument("--quick", action="store_true",
                   help="the demo's size: a small augmentation run (fine-tuning is full size)")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("-o", "--out", default="finetune", help="directory for the curves")
    p.set_defaults(run=run_experiment)

    p = sub.add_parser("resnet18", help="ResNet-18 weights")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    c = verbs.add_parser("convert", help="torchvision resnet18 .pth -> Keras .weights.h5")
    c.add_argument("src")
    c.add_argument("dst")
    c.add_argument("--num-classes", type=at_least_one, default=1000)
    c.set_defaults(run=convert)


def augment_image(args):
    from tfcs231n.data.images import read_image
    from tfcs231n.vision import augment

    img = read_image(args.image)
    transforms = [augment.RandomHorizontalFlip()] if args.flip else []
    if args.crop:
        transforms.append(augment.RandomResizedCrop(args.crop, scale=(0.1, 1), ratio=(0.5, 2)))
    if args.jitter:
        transforms.append(augment.ColorJitter(*args.jitter))
    if not transforms:
        raise ValueError("choose at least one of --flip, --crop, --jitter")
    augment.apply(img, augment.Compose(transforms), args.rows, args.cols, args.seed, args.out)
    print(f"wrote {args.out}")
    return 0


def run_experiment(args):
    from tfcs231n.vision import finetune as ft

    os.makedirs(args.out, exist_ok=True)
    aug, tune = ft.experiment_configs(args.quick, args.seed)
    if args.experiment == "augmentation":
        results = ft.augmentation_experiment(aug)
    elif args.experiment == "hotdog":
        results = ft.finetune_experiment(tune)
        print(f"backbone accuracy on task A: {results.pop('pretrain_test_acc'):.3f}")
    else:
        from tfcs231n.data.digits import load_synthetic_digits

        n_train = 6000 if args.quick else 60000
        _, history = ft.train_mnist_cnn(load_synthetic_digits(args.seed, n_train, 10000),
                                        epochs=1, seed=args.seed)
        results = {"mnist cnn": history}
    for name, history in results.items():
        path = history.plot(os.path.join(args.out, f"{name.replace(' ', '_')}.png"), name)
        print(f"{name}: {history.summary()} ({path})")
    return 0


def convert(args):
    from tfcs231n.vision.resnet import ResNet18

    if not os.path.isfile(args.src):
        raise FileNotFoundError(f"no weights file {args.src}")
    ResNet18(args.num_classes, weights=args.src).save_weights(args.dst)
    print(f"wrote {args.dst}")
    return 0


