"""The augmentation and fine-tuning section of `tfcs231n demo`."""


def demo_section(out_dir, quick=True, seed=0):
    """Augmentation grids, augmentation vs none, and fine-tuning vs scratch (offline)."""
    import time
    from pathlib import Path

    from tfcs231n.vision import augment
    from tfcs231n.vision import finetune as ft
    from tfcs231n.data.synthetic import make_scenes
    from tfcs231n.demo.report import Section

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    aug_config, tune_config = ft.experiment_configs(quick, seed)
    section = Section(
        "finetune", "Image augmentation and fine-tuning (d2l 14.1-14.2)",
        "Augmentation: a narrow ResNet-18 learns the shape of one object from "
        f"{aug_config.n_train} images where it is red or blue, top-left and never flipped, "
        "and is tested on objects of any colour, anywhere, flipped. Fine-tuning: a ResNet-18 "
        f"pretrained on 24 colour x shape classes is fine-tuned (head lr x10) on "
        f"{tune_config.n_train} images of a two-class 'hotdog' task (does the scene hold a "
        "triangle?) and compared with the same network trained from scratch (lr x10 "
        f"everywhere) and with feature extraction, {tune_config.epochs} epochs each."
        + (" Quick mode: the augmentation runs are a small version (32 px, "
           f"{aug_config.n_train} images, {aug_config.epochs} epochs), too short to show "
           "augmentation's effect; `tfcs231n finetune augmentation` (about 3 minutes) does, "
           "with the numbers in the README. Fine-tuning runs at full size." if quick else ""))
    scene = make_scenes(1, seed=seed, image_size=64)[0][0]
    for name, transform in (
            ("flip", augment.RandomHorizontalFlip()),
            ("crop", augment.RandomResizedCrop(64, scale=(0.1, 1), ratio=(0.5, 2))),
            ("jitter", augment.ColorJitter(0.5, 0.5, 0.5, 0.5))):
        path = out_dir / f"augment_{name}.png"
        augment.apply(scene, transform, 2, 4, seed, path)
        section.figure(path, f"d2l's apply: {name}")

    start = time.perf_counter()
    aug_results = ft.augmentation_experiment(aug_config, verbose=False)
    tune_results = ft.finetune_experiment(tune_config, verbose=False)
    pretrain_acc = tune_results.pop("pretrain_test_acc")
    elapsed = time.perf_counter() - start
    rows = []
    for group, results in (("augmentation", aug_results), ("fine-tuning", tune_results)):
        for name, history in results.items():
            path = history.plot(out_dir / f"{name.replace(' ', '_').replace('+', '_')}.png",
                                f"{group}: {name}")
            section.figure(path, f"{group}: {name}, per epoch")
            rows.append([group, name, len(history.test_acc), round(history.train_acc[-1], 3),
                         round(history.test_acc[-1], 3), round(history.examples_per_sec[-1])])
    section.table("final epoch", ["experiment", "run", "epochs", "train acc", "test acc",
                                  "examples/sec"], rows)
    section.metrics.update({
        "augmentation_test_acc_none": aug_results["none"].test_acc[-1],
        "augmentation_test_acc_augmented": aug_results["flip+crop+jitter"].test_acc[-1],
        "pretrain_test_acc": pretrain_acc,
        "finetune_test_acc": tune_results["fine-tune"].test_acc[-1],
        "scratch_test_acc": tune_results["scratch"].test_acc[-1],
        "feature_extraction_test_acc": tune_results["feature extraction"].test_acc[-1],
    })  # timings stay out of the metrics, which repeat exactly for a given seed
    section.text += f" Training took {elapsed:.0f} s."
    return section
