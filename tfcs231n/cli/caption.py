"""`tfcs231n caption train|sample|export|download`."""

import json
import os

from tfcs231n.cli.args import (at_least_one, note_fresh_start, random_seed, run_workers,
                                workers_arg)


def add_parser(sub):
    p = sub.add_parser("caption", help="train, sample and export image captioners")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    t = verbs.add_parser("train", help="train a captioner (checkpointed, resumable)")
    _data_arg(t)
    t.add_argument("--cell", choices=["rnn", "lstm"], default="lstm")
    t.add_argument("--epochs", type=at_least_one, default=10)
    t.add_argument("--batch-size", type=at_least_one, default=100)
    t.add_argument("--lr", type=float, default=5e-3)
    t.add_argument("--lr-decay", type=float, default=0.9)
    t.add_argument("--wordvec", type=at_least_one, default=128)
    t.add_argument("--hidden", type=at_least_one, default=256)
    t.add_argument("--max-train", type=at_least_one, help="subsample this many training captions")
    t.add_argument("--seed", type=random_seed, default=0)
    t.add_argument("--out", default="runs/caption", help="run directory (default: %(default)s)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints (none "
                   "there: says so and starts from scratch)")
    workers_arg(t)
    t.set_defaults(run=train)

    s = verbs.add_parser("sample", help="caption images of a split with a trained model")
    _data_arg(s)
    s.add_argument("--model", default="runs/caption/model.keras",
                   help="the .keras file `caption train` wrote (default: %(default)s)")
    s.add_argument("--split", choices=["train", "val"], default="val")
    s.add_argument("--num", type=at_least_one, default=8)
    s.add_argument("--beam", type=at_least_one, default=1, help="beam size (1: greedy)")
    s.add_argument("--seed", type=random_seed, default=0)
    s.add_argument("--out", help="also write a PNG grid of images with their captions")
    s.set_defaults(run=sample)

    e = verbs.add_parser("export", help="write a SavedModel: features -> caption ids + text")
    e.add_argument("--model", default="runs/caption/model.keras")
    e.add_argument("--out", required=True)
    e.add_argument("--beam", type=at_least_one, default=1)
    e.add_argument("--max-length", type=at_least_one, default=16)
    e.set_defaults(run=export)

    d = verbs.add_parser("download", help="download the course's COCO captioning files")
    d.add_argument("--dir", help="target directory (default: the data directory)")
    d.set_defaults(run=download)


def _data_arg(p):
    p.add_argument("--data", default="synthetic",
                   help="'synthetic' (built in, offline) or the course's coco_captioning dir")


def _load_model(path):
    import keras

    import tfcs231n.captioning.model  # noqa: F401 - registers CaptioningRNN for deserialisation

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model at {path}; train one with `tfcs231n caption train`")
    if not path.endswith(".keras"):
        raise ValueError(f"--model {path}: not a .keras file; give the model.keras that "
                         "`tfcs231n caption train` writes in its --out directory")
    return keras.saving.load_model(path)


def train(args):
    if args.workers:
        return run_workers(args)
    import contextlib

    from tfcs231n import distribute, plotting
    from tfcs231n.captioning import model as captioning
    from tfcs231n.captioning.solver import CaptioningSolver
    from tfcs231n.data import captioning_data

    strategy = distribute.strategy_from_env()  # before any other TF work (TF's rule)
    data = captioning_data(args.data, max_train=args.max_train, seed=args.seed)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = captioning.CaptioningRNN(
            data["word_to_idx"], input_dim=data["train_features"].shape[1],
            wordvec_dim=args.wordvec, hidden_dim=args.hidden, cell_type=args.cell,
            seed=args.seed,
        )
    solver = CaptioningSolver(
        model, data, num_epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.lr, lr_decay=args.lr_decay, seed=args.seed,
        checkpoint_dir=os.path.join(args.out, "checkpoints"), strategy=strategy,
    )
    note_fresh_start(args.resume, os.path.join(args.out, "checkpoints"))
    history = solver.train(resume=args.resume)
    if not solver.chief:
        return 0  # the chief writes the model, the plot and the metrics
    model.save(os.path.join(args.out, "model.keras"))
    plotting.plot_loss(history, os.path.join(args.out, "loss.png"), title=f"{args.cell} loss")
    scores = {f"beam{b}": captioning.evaluate_bleu(model, data, "val", beam_size=b)
              for b in (1, 3)}
    with open(os.path.join(args.out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump({"final_loss": history[-1], "val": scores}, f, indent=1)
    for name, s in scores.items():
        print(f"val {name}: " + " ".join(f"{k}={v:.3f}" for k, v in s.items() if k != "n_images"))
    print(f"wrote {args.out}/model.keras, loss.png, metrics.json")
    return 0


def sample(args):
    import numpy as np

    from tfcs231n import plotting
    from tfcs231n.captioning import model as captioning
    from tfcs231n.data import captioning_data, synthetic_captioning_dir
    from tfcs231n.data.coco import sample_coco_minibatch

    model = _load_model(args.model)
    data = captioning_data(args.data)
    captions, features, urls = sample_coco_minibatch(data, args.num, args.split, args.seed)
    ids = model.sample(features, captions.shape[1] - 1, args.beam).numpy()
    truth = [" ".join(captioning.caption_words(c, data["idx_to_word"])) for c in captions]
    generated = [" ".join(captioning.caption_words(c, data["idx_to_word"])) for c in ids]
    for t, g in zip(truth, generated):
        print(f"truth: {t}\n  got: {g}")
    if args.out:
        base = synthetic_captioning_dir() if args.data == "synthetic" else args.data
        paths = [os.path.join(base, u) for u in urls]
        if all(os.path.isfile(p) for p in paths):
            from PIL import Image

            images = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
            plotting.caption_grid(images, generated, truth, args.out)
            print(f"wrote {args.out}")
        else:
            print("images are web URLs (real COCO); no grid written")
    return 0


def export(args):
    from tfcs231n.captioning.model import export_captioner

    model = _load_model(args.model)
    idx_to_word = sorted(model.word_to_idx, key=model.word_to_idx.get)
    export_captioner(model, args.out, idx_to_word, args.max_length, args.beam)
    print(f"wrote SavedModel {args.out} (signature serving_default: features -> caption_ids, "
          "captions)")
    return 0


def download(args):
    from tfcs231n.data.coco import download_coco

    print(f"files in {download_coco(args.dir)}")
    return 0


