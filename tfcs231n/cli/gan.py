"""`tfcs231n gan train|compare|sample`.

`gan train` writes into its run directory (``--out``, default ``gan-MODEL``): ``run.json``
(model and sizes, read back by `gan sample` and `--resume`), a sample grid per epoch
(``samples-epoch-NNN.png``), ``checkpoints/`` (atomic, one per epoch), ``history.json``
(losses and per-epoch Fréchet distance / inception score) and, with ``--export DIR``, the
generator as a SavedModel. `gan compare` trains several models one after another under the
same time budget, each into ``OUT/MODEL`` as `gan train` would, and adds ``compare.json``,
``fd.png`` (Fréchet distance against training time) and ``samples.png`` (the final grids
side by side).

`gan train` runs under `MultiWorkerMirroredStrategy` from a `TF_CONFIG`, or as N local
workers with ``--workers N``, as `caption train` does (`tfcs231n.distribute`); only the
chief writes the run directory and the export.
"""

import json
import os

from tfcs231n.cli.args import (at_least_one, note_fresh_start, random_seed, run_workers,
                                workers_arg)

MODELS = ("dcgan", "vanilla", "lsgan", "wgan-gp")


def add_parsers(sub):
    p = sub.add_parser("gan", help="train the course's GANs (vanilla, LSGAN, DCGAN) or "
                       "WGAN-GP, sample from a checkpoint")
    actions = p.add_subparsers(dest="gan_action", required=True, metavar="ACTION")

    t = actions.add_parser("train", help="train a GAN; grids, checkpoints, metrics per epoch")
    t.add_argument("--model", choices=MODELS, default="dcgan")
    t.add_argument("--epochs", type=at_least_one, default=10, help="epochs in total (a resumed run "
                   "counts the earlier ones)")
    t.add_argument("--out", help="run directory (default: gan-MODEL)")
    t.add_argument("--resume", action="store_true", help="continue from the newest checkpoint "
                   "in OUT/checkpoints (none there: says so and starts from scratch)")
    t.add_argument("--no-metrics", action="store_true",
                   help="skip the Fréchet distance / inception score (and their classifier)")
    t.add_argument("--log-dir", help="TensorBoard scalars here")
    t.add_argument("--export", metavar="DIR", help="export the generator as a SavedModel")
    _training_options(t)
    workers_arg(t)
    t.set_defaults(run=train)

    c = actions.add_parser("compare", help="train several GANs under one time budget and "
                           "compare their Fréchet distances")
    c.add_argument("--models", nargs="+", choices=MODELS, default=["dcgan", "vanilla"])
    c.add_argument("--epochs", type=at_least_one, default=100,
                   help="epoch cap per model (the time budget usually stops it first)")
    c.add_argument("--out", default="gan-compare", help="directory for the runs and the report")
    _training_options(c)
    c.set_defaults(run=compare, time_budget=600.0)

    s = actions.add_parser("sample", help="a grid of samples from a run's newest checkpoint")
    s.add_argument("--checkpoint", required=True, metavar="RUN_DIR",
                   help="a `gan train` run directory")
    s.add_argument("--out", required=True, metavar="OUT.png")
    s.add_argument("-n", type=at_least_one, default=36, help="number of samples")
    s.add_argument("--seed", type=random_seed, default=0, help="noise seed")
    s.add_argument("--export", metavar="DIR", help="also export the generator as a SavedModel")
    s.set_defaults(run=sample)


def _training_options(p):
    p.add_argument("--data", default="synthetic", help="'synthetic' (offline digits, default), "
                   "'mnist' (downloaded if missing; offline, use 'synthetic') or a directory "
                   "with MNIST's files")
    p.add_argument("--n-train", type=at_least_one, default=60000, metavar="N",
                   help="training images to use (synthetic: how many to render)")
    p.add_argument("--batch-size", type=at_least_one, default=128)
    p.add_argument("--steps-per-epoch", type=at_least_one, metavar="K",
                   help="cap iterations per epoch")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="stop after this much training time (the partial epoch is not "
                   "saved); compare: 600 unless given")
    p.add_argument("--cpu-budget", action="store_true",
                   help="count --time-budget in process CPU seconds instead of wall seconds")
    p.add_argument("--metric-samples", type=at_least_one, default=2000, metavar="N")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _classifier_config(data):
    """The metric classifier's config for a `--data` source (tests shrink it)."""
    from tfcs231n.gan import metrics as gm

    return gm.ClassifierConfig(source=data)


def _config(args, model):
    from tfcs231n.gan import training as gt

    return gt.GANConfig(model=model, batch_size=args.batch_size, num_epochs=args.epochs,
                        seed=args.seed, steps_per_epoch=args.steps_per_epoch,
                        time_budget_s=args.time_budget,
                        budget_clock="cpu" if args.cpu_budget else "wall")


def _data(args):
    from tfcs231n.data.mnist import load_digits

    return load_digits(args.data, seed=args.seed, n_train=args.n_train)[0][0]


def _metrics(args):
    from tfcs231n.gan import metrics as gm

    return gm.GANMetrics(_classifier_config(args.data), n_samples=args.metric_samples,
                         seed=args.seed, verbose=not args.quiet)


def _write_run(out, model, args):
    os.makedirs(out, exist_ok=True)
    run = {"model": model, "noise_dim": 96, "data": args.data, "seed": args.seed,
           "batch_size": args.batch_size}
    with open(os.path.join(out, "run.json"), "w", encoding="utf-8") as f:
        json.dump(run, f, indent=1)


def _write_history(out, history, metrics):
    with open(os.path.join(out, "history.json"), "w", encoding="utf-8") as f:
        json.dump({**history, "real_fd": metrics.real_fd if metrics else None,
                   "real_is": metrics.real_is if metrics else None}, f)


def _read_run(run_dir):
    path = os.path.join(run_dir, "run.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{run_dir} has no run.json; is it a `gan train` directory?")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def train(args):
    from tfcs231n import distribute
    from tfcs231n.gan import training as gt

    out = args.out or f"gan-{args.model}"
    if args.resume and os.path.isfile(os.path.join(out, "run.json")):
        before = _read_run(out)
        if before["model"] != args.model:
            raise ValueError(f"{out} holds a {before['model']} run, not {args.model}")
    if args.workers:
        if args.time_budget is not None:  # refused before starting workers (train_gan would)
            raise ValueError(f"--time-budget {args.time_budget:g}: workers cannot stop at "
                             "the same step by their own clocks; leave it out with --workers")
        return run_workers(args)
    strategy = distribute.strategy_from_env()  # before any other TF work (TF's rule)
    chief = distribute.is_chief(strategy)
    config, data = _config(args, args.model), _data(args)
    gt.steps_per_epoch(config, len(data))  # before the metrics' classifier is trained
    metrics = None if args.no_metrics or not chief else _metrics(args)
    if chief:
        note_fresh_start(args.resume, os.path.join(out, "checkpoints"))
        _write_run(out, args.model, args)
    gan, result = gt.train(config, data, strategy, out_dir=out, resume=args.resume,
                           log_dir=args.log_dir, metrics_fn=metrics,
                           verbose=0 if args.quiet else 1)
    if not chief:
        return 0  # the chief writes the history and the export
    history = result["history"]
    _write_history(out, history, metrics)
    if args.export:
        gt.export_generator(gan.generator, args.export)
        print(f"exported the generator to {args.export}")
    last = history["epochs"][-1] if history["epochs"] else {}
    numbers = ", ".join(f"{k} {last[k]:.4g}" for k in ("fd", "is") if k in last)
    state = "stopped by the time budget" if result["stopped_early"] else "done"
    if result["start_epoch"]:
        state += f" (resumed from epoch {result['start_epoch']})"
    print(f"{state}: {result['epochs_done']} epochs in {out}"
          + (f"; last epoch {numbers}" if numbers else ""))
    return 0


def compare(args):
    """Trains each of `args.models` from scratch under the same budget, one after another
    (so they never share the CPU), and reports where each one's Fréchet distance ended."""
    from tfcs231n.gan import metrics as gm
    from tfcs231n.gan import training as gt
    from tfcs231n.plotting import image_rows

    if len(set(args.models)) != len(args.models):
        raise ValueError(f"--models lists a model twice: {' '.join(args.models)}")
    if args.time_budget is None or args.time_budget <= 0:
        raise ValueError("compare needs a positive --time-budget")
    configs = [_config(args, model) for model in args.models]  # all checked before training
    data = _data(args)
    for config in configs:
        gt.steps_per_epoch(config, len(data))
    metrics = _metrics(args)
    clock = "process CPU" if args.cpu_budget else "wall"
    rows, runs, grids = [], {}, []
    for model, config in zip(args.models, configs):
        out = os.path.join(args.out, model)
        _write_run(out, model, args)
        if not args.quiet:
            print(f"{model}: training for {args.time_budget:g} {clock} seconds")
        _, result = gt.train(config, data, out_dir=out, metrics_fn=metrics,
                             verbose=0 if args.quiet else 1)
        epochs = result["history"]["epochs"]
        _write_history(out, result["history"], metrics)
        runs[model] = epochs
        grids.append(result["grids"][-1])
        best = min(epochs, key=lambda e: e["fd"])
        rows.append({"model": model, "iterations": epochs[-1]["steps"],
                     "seconds": epochs[-1]["seconds"],
                     "cpu_seconds": epochs[-1]["cpu_seconds"], "fd": epochs[-1]["fd"],
                     "is": epochs[-1]["is"], "best_fd": best["fd"],
                     "best_fd_epoch": best["epoch"]})
    key = "cpu_seconds" if args.cpu_budget else "seconds"
    gm.plot_metric_curves(runs, os.path.join(args.out, "fd.png"), "fd",
                          floor=metrics.real_fd, x=key)
    image_rows([[(_read_png(path), f"{model}: FD {row['fd']:.3g}", None)
                 for path, model, row in zip(grids, args.models, rows)]],
               os.path.join(args.out, "samples.png"), size=5)
    report = {"time_budget_s": args.time_budget, "budget_clock": "cpu" if args.cpu_budget
              else "wall", "real_fd": metrics.real_fd, "runs": rows}
    with open(os.path.join(args.out, "compare.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    print(f"{'model':8} {'iterations':>10} {'wall s':>7} {'CPU s':>7} {'FD':>8} "
          f"{'best FD':>8} {'IS':>5}")
    for r in rows:
        print(f"{r['model']:8} {r['iterations']:10d} {r['seconds']:7.0f} "
              f"{r['cpu_seconds']:7.0f} {r['fd']:8.3g} {r['best_fd']:8.3g} {r['is']:5.2f}")
    print(f"(Fréchet distance between two real sets of {args.metric_samples}: "
          f"{metrics.real_fd:.3g}); {args.out}/fd.png, {args.out}/samples.png")
    return 0


def _read_png(path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def sample(args):
    from tfcs231n.gan import training as gt
    from tfcs231n.gan.models import deprocess_img, sample_noise

    run = _read_run(args.checkpoint)
    G, state = gt.restore_generator(args.checkpoint, run["model"], run["noise_dim"])
    images = deprocess_img(G(sample_noise(args.n, run["noise_dim"], seed=(args.seed, 0)),
                             training=False)).numpy()
    gt.save_grid(images, args.out)
    print(f"wrote {args.n} samples of the epoch-{state['epoch']} {run['model']} to {args.out}")
    if args.export:
        gt.export_generator(G, args.export)
        print(f"exported the generator to {args.export}")
    return 0


# ----------------------------------------------------------------------------- demo



