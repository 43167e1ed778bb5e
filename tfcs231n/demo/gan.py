"""The GAN section of `tfcs231n demo`."""


# quick: a small digit set (100 batches of 64 per epoch) and a small classifier; the fully
# connected GANs get more iterations than DCGAN (docs/design.md#the-demos-gan-settings).
# full: the 60k set, the default classifier and 1,500 iterations per GAN at batch 128.
DEMO = {
    True: dict(n_train=6400, n_test=1000, classifier=dict(train_images=5000, epochs=2,
                                                          batch_size=64),
               batch_size=64, steps=100, epochs=dict(vanilla=10, lsgan=10, dcgan=4),
               samples=1000),
    False: dict(n_train=60000, n_test=10000, classifier={}, batch_size=128, steps=250,
                epochs=dict(vanilla=6, lsgan=6, dcgan=6), samples=2000),
}

# The table and the plot use one clock: the process's CPU time spent training (the
# metrics' time left out), steadier than wall time on a shared machine.
CLOCK, CLOCK_NAME = "cpu_seconds", "training time (process CPU seconds)"


def demo_section(out_dir, quick=True, seed=0):
    """Vanilla GAN, LSGAN and DCGAN trained for the same number of iterations on the offline
    digits; a sample grid each, the Fréchet distance per epoch, and the final numbers."""
    from pathlib import Path

    from tfcs231n.gan import metrics as gm
    from tfcs231n.gan import training as gt
    from tfcs231n.data.mnist import load_digits
    from tfcs231n.gan.models import deprocess_img, sample_noise
    from tfcs231n.demo.report import Section

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    s = DEMO[bool(quick)]
    classifier = gm.ClassifierConfig(data_seed=seed, n_train=s["n_train"], n_test=s["n_test"],
                                     seed=seed, **s["classifier"])
    metrics = gm.GANMetrics(classifier, n_samples=s["samples"], seed=seed)
    data = load_digits("synthetic", seed=seed, n_train=s["n_train"], n_test=s["n_test"])[0][0]
    per_epoch = min(s["steps"], len(data) // s["batch_size"])  # steps is only a cap
    iterations = {model: epochs * per_epoch for model, epochs in s["epochs"].items()}
    same = len(set(iterations.values())) == 1
    section = Section(
        "gan", "Generative adversarial networks (offline digits)",
        text=f"The course's three GANs trained at batch {s['batch_size']} on {len(data)} "
             f"synthetic digits, "
             + (f"each for {iterations['dcgan']:,} iterations" if same else
                f"vanilla and LSGAN for {iterations['vanilla']:,} iterations and DCGAN for "
                f"{iterations['dcgan']:,}: a DCGAN iteration costs several times more (the "
                f"table gives each model's {CLOCK_NAME}), and the fully connected GANs "
                f"need about 1,000 iterations to draw more than one blob")
             + f". Measured with a small digit classifier "
             f"({100 * metrics.classifier_info['test_accuracy']:.1f}% test accuracy): "
             f"Fréchet distance between real and generated penultimate-layer features (lower "
             f"is better; {metrics.real_fd:.3g} between two real sets of the same size) and "
             f"the inception-style score (1 to 10; real digits {metrics.real_is:.3g}).")
    runs, rows = {}, []
    for model in ("vanilla", "lsgan", "dcgan"):
        config = gt.GANConfig(model=model, batch_size=s["batch_size"],
                              num_epochs=s["epochs"][model], steps_per_epoch=s["steps"],
                              seed=seed)
        gan, result = gt.train(config, data, metrics_fn=metrics, verbose=0)
        epochs = result["history"]["epochs"]
        runs[model] = epochs
        steps = epochs[-1]["steps"]  # counted, not planned
        images = deprocess_img(gan.generator(
            sample_noise(gt.GRID_SAMPLES, config.noise_dim, seed=(seed, -1)),
            training=False)).numpy()
        section.figure(gt.save_grid(images, out_dir / f"gan_{model}.png"),
                       f"{model}: samples after {steps:,} iterations")
        rows.append([model, steps, epochs[-1]["fd"], epochs[-1]["is"],
                     f"{epochs[-1][CLOCK]:.0f}"])
        section.metrics[f"{model}_fd"] = float(epochs[-1]["fd"])
        section.metrics[f"{model}_is"] = float(epochs[-1]["is"])
        section.metrics[f"{model}_iterations"] = steps
    section.metrics["real_fd"] = float(metrics.real_fd)
    x = "steps" if same else CLOCK
    section.figure(gm.plot_metric_curves(runs, str(out_dir / "gan_fd.png"), "fd",
                                         floor=metrics.real_fd, x=x),
                   f"Fréchet distance against {'iterations' if same else CLOCK_NAME} "
                   f"(log scale; dashed: two real sets)")
    section.table("after training", ["model", "iterations", "Fréchet distance",
                                     "inception score", CLOCK_NAME], rows)
    return section
