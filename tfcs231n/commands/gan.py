"""`tfcs231n gan train|sample` and the GAN section of `tfcs231n demo`.

`gan train` writes into its run directory (``--out``, default ``gan-MODEL``): ``run.json``
(model and sizes, read back by `gan sample` and `--resume`), a sample grid per epoch
(``samples-epoch-NNN.png``), ``checkpoints/`` (atomic, one per epoch), ``history.json``
(losses and per-epoch Fréchet distance / inception score) and, with ``--export DIR``, the
generator as a SavedModel.
"""

import json
import os

MODELS = ("dcgan", "vanilla", "lsgan")


def add_parsers(sub):
    p = sub.add_parser("gan", help="train the course's GANs (vanilla, LSGAN, DCGAN), sample "
                       "from a checkpoint")
    actions = p.add_subparsers(dest="gan_action", required=True, metavar="ACTION")

    t = actions.add_parser("train", help="train a GAN; grids, checkpoints, metrics per epoch")
    t.add_argument("--model", choices=MODELS, default="dcgan")
    t.add_argument("--epochs", type=int, default=10, help="epochs in total (a resumed run "
                   "counts the earlier ones)")
    t.add_argument("--data", default="synthetic", help="'synthetic' (offline digits, default), "
                   "'mnist' (downloaded if missing) or a directory with MNIST's files")
    t.add_argument("--n-train", type=int, default=60000, metavar="N",
                   help="training images to use (synthetic: how many to render)")
    t.add_argument("--out", help="run directory (default: gan-MODEL)")
    t.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--steps-per-epoch", type=int, metavar="K", help="cap iterations per epoch")
    t.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="stop after this much training time (the partial epoch is not saved)")
    t.add_argument("--cpu-budget", action="store_true",
                   help="count --time-budget in process CPU seconds instead of wall seconds")
    t.add_argument("--no-metrics", action="store_true",
                   help="skip the Fréchet distance / inception score (and their classifier)")
    t.add_argument("--metric-samples", type=int, default=2000, metavar="N")
    t.add_argument("--log-dir", help="TensorBoard scalars here")
    t.add_argument("--export", metavar="DIR", help="export the generator as a SavedModel")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=train)

    s = actions.add_parser("sample", help="a grid of samples from a run's newest checkpoint")
    s.add_argument("--checkpoint", required=True, metavar="RUN_DIR",
                   help="a `gan train` run directory")
    s.add_argument("--out", required=True, metavar="OUT.png")
    s.add_argument("-n", type=int, default=36, help="number of samples")
    s.add_argument("--seed", type=int, default=0, help="noise seed")
    s.add_argument("--export", metavar="DIR", help="also export the generator as a SavedModel")
    s.set_defaults(run=sample)


def _read_run(run_dir):
    path = os.path.join(run_dir, "run.json")
    if not os.path.isfile(path):
        raise SystemExit(f"gan: {run_dir} has no run.json; is it a `gan train` directory?")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def train(args):
    from tfcs231n import gan_training as gt
    from tfcs231n.data.mnist import load_digits

    out = args.out or f"gan-{args.model}"
    run = {"model": args.model, "noise_dim": 96, "data": args.data, "seed": args.seed,
           "batch_size": args.batch_size}
    if args.resume and os.path.isfile(os.path.join(out, "run.json")):
        before = _read_run(out)
        if before["model"] != args.model:
            raise SystemExit(f"gan: {out} holds a {before['model']} run, not {args.model}")
    try:
        config = gt.GANConfig(model=args.model, batch_size=args.batch_size,
                              num_epochs=args.epochs, seed=args.seed,
                              steps_per_epoch=args.steps_per_epoch,
                              time_budget_s=args.time_budget,
                              budget_clock="cpu" if args.cpu_budget else "wall")
        data = load_digits(args.data, seed=args.seed, n_train=args.n_train)[0][0]
    except (ValueError, FileNotFoundError, OSError) as e:
        raise SystemExit(f"gan: {e}") from e
    metrics = None
    if not args.no_metrics:
        from tfcs231n import gan_metrics as gm

        metrics = gm.GANMetrics(gm.ClassifierConfig(source=args.data),
                                n_samples=args.metric_samples, seed=args.seed,
                                verbose=not args.quiet)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "run.json"), "w", encoding="utf-8") as f:
        json.dump(run, f, indent=1)
    gan, result = gt.train(config, data, out_dir=out, resume=args.resume,
                           log_dir=args.log_dir, metrics_fn=metrics,
                           verbose=0 if args.quiet else 1)
    history = result["history"]
    with open(os.path.join(out, "history.json"), "w", encoding="utf-8") as f:
        json.dump({**history, "real_fd": metrics.real_fd if metrics else None,
                   "real_is": metrics.real_is if metrics else None}, f)
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


def sample(args):
    from tfcs231n import gan_training as gt
    from tfcs231n.gan import deprocess_img, sample_noise

    run = _read_run(args.checkpoint)
    try:
        G, state = gt.restore_generator(args.checkpoint, run["model"], run["noise_dim"])
    except FileNotFoundError as e:
        raise SystemExit(f"gan: {e}") from e
    if args.n < 1:
        raise SystemExit(f"gan: -n must be positive, got {args.n}")
    images = deprocess_img(G(sample_noise(args.n, run["noise_dim"], seed=(args.seed, 0)),
                             training=False)).numpy()
    gt.save_grid(images, args.out)
    print(f"wrote {args.n} samples of the epoch-{state['epoch']} {run['model']} to {args.out}")
    if args.export:
        gt.export_generator(G, args.export)
        print(f"exported the generator to {args.export}")
    return 0


# ----------------------------------------------------------------------------- demo

# quick: a small digit set, a small classifier and 60 iterations per GAN (~1 min on 2
# cores); full: the 60k set, the default classifier and 1,500 iterations per GAN.
DEMO = {
    True: dict(n_train=6000, n_test=1000, classifier=dict(train_images=5000, epochs=2,
                                                          batch_size=64),
               batch_size=64, epochs=4, steps=150, samples=1000),  # ~1.5 min on 2 cores
    False: dict(n_train=60000, n_test=10000, classifier={}, batch_size=128, epochs=6,
                steps=250, samples=2000),
}


def demo_section(out_dir, quick=True, seed=0):
    """Vanilla GAN, LSGAN and DCGAN trained for the same number of iterations on the offline
    digits; a sample grid each, the Fréchet distance per epoch, and the final numbers."""
    from pathlib import Path

    from tfcs231n import gan_metrics as gm
    from tfcs231n import gan_training as gt
    from tfcs231n.data.mnist import load_digits
    from tfcs231n.gan import deprocess_img, sample_noise
    from tfcs231n.report import Section

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    s = DEMO[bool(quick)]
    classifier = gm.ClassifierConfig(data_seed=seed, n_train=s["n_train"], n_test=s["n_test"],
                                     seed=seed, **s["classifier"])
    metrics = gm.GANMetrics(classifier, n_samples=s["samples"], seed=seed)
    data = load_digits("synthetic", seed=seed, n_train=s["n_train"], n_test=s["n_test"])[0][0]
    steps = s["epochs"] * s["steps"]
    section = Section(
        "gan", "Generative adversarial networks (offline digits)",
        text=f"The course's three GANs, each trained for {steps} iterations at batch "
             f"{s['batch_size']} on {len(data)} synthetic digits, then measured with a small "
             f"digit classifier ({100 * metrics.classifier_info['test_accuracy']:.1f}% test "
             f"accuracy): Fréchet distance between real and generated penultimate-layer "
             f"features (lower is better; {metrics.real_fd:.3g} between two real sets of the "
             f"same size) and the inception-style score (1 to 10; real digits "
             f"{metrics.real_is:.3g}).")
    runs, rows = {}, []
    for model in ("vanilla", "lsgan", "dcgan"):
        config = gt.GANConfig(model=model, batch_size=s["batch_size"], num_epochs=s["epochs"],
                              steps_per_epoch=s["steps"], seed=seed)
        gan, result = gt.train(config, data, metrics_fn=metrics, verbose=0)
        epochs = result["history"]["epochs"]
        runs[model] = epochs
        images = deprocess_img(gan.generator(
            sample_noise(gt.GRID_SAMPLES, config.noise_dim, seed=(seed, -1)),
            training=False)).numpy()
        section.figure(gt.save_grid(images, out_dir / f"gan_{model}.png"),
                       f"{model}: samples after {steps} iterations")
        rows.append([model, steps, epochs[-1]["fd"], epochs[-1]["is"],
                     f"{epochs[-1]['seconds']:.0f}"])
        section.metrics[f"{model}_fd"] = float(epochs[-1]["fd"])
        section.metrics[f"{model}_is"] = float(epochs[-1]["is"])
    section.metrics["real_fd"] = float(metrics.real_fd)
    section.figure(gm.plot_metric_curves(runs, str(out_dir / "gan_fd.png"), "fd",
                                         floor=metrics.real_fd),
                   "Fréchet distance per epoch (log scale; dashed: two real sets)")
    section.table("after training", ["model", "iterations", "Fréchet distance",
                                     "inception score", "seconds"], rows)
    return section
