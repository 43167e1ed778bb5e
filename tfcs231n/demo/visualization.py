"""The network-visualization section of `tfcs231n demo`."""


def magnified_difference(diff):
    """A fooling image's change (preprocessed (H, W, 3)) as uint8 pixels stretched to fill
    [0, 255], with the factor by which a pixel change is magnified on display."""
    import numpy as np

    from tfcs231n.visualization.squeezenet import SQUEEZENET_MEAN, SQUEEZENET_STD, deprocess_image

    shown = np.asarray(diff, np.float32) * SQUEEZENET_STD + SQUEEZENET_MEAN  # as deprocess
    spread = max(float(shown.max() - shown.min()), float(np.finfo(np.float32).tiny))
    return deprocess_image(diff, rescale=True), 1.0 / spread


def demo_section(out_dir, quick=True, seed=0):
    """The network-visualization part of `tfcs231n demo`, on the synthetic classifier."""
    import numpy as np

    from tfcs231n import plotting
    from tfcs231n.visualization import attribution
    from tfcs231n.demo import report
    from tfcs231n.visualization import sanity as sanity_checks
    from tfcs231n.visualization import saliency as visualization
    from tfcs231n.visualization.squeezenet import deprocess_image
    from tfcs231n.visualization.synthetic_classifier import CLASS_VISUALIZATION, ClassifierConfig, classification_data, synthetic_classifier

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
    rows += [[(plotting.heat(m), name, "hot") for m in ms] for name, ms in maps.items()]
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
        pixels, factor = magnified_difference(diff)
        fool_rows.append([(deprocess_image(x), names[label], None),
                          (deprocess_image(np.asarray(fooled)[0]), f"-> {names[target]}", None),
                          (pixels, f"difference ×{factor:.0f}, {k} steps", None)])
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
