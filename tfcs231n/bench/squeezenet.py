"""`tfcs231n bench squeezenet`: forward and image gradient through SqueezeNet 1.1."""

import copy

import numpy as np


def workload(height=192, width=256):
    """Forward + backward w.r.t. one height x width image through SqueezeNet 1.1 (1000
    classes).

    The saliency / fooling / class-visualization step; the same random weights both sides.
    """
    import tensorflow as tf
    import torch

    from torchref import squeezenet as ref
    from tfcs231n.bench import floor
    from tfcs231n.visualization.squeezenet import SqueezeNet

    state = ref.random_state_dict(1000, seed=0)
    image = np.random.default_rng(0).standard_normal((1, height, width, 3)).astype(np.float32)
    model = SqueezeNet(1000, weights=state)
    x = tf.constant(image)
    # The top class, as saliency would take: behind the final ReLU most classes score 0, and
    # their gradient is exactly zero.
    top = int(tf.argmax(model(x)[0]))

    def tf_variant(compile_kind):
        def step():
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = model(x, training=False)[0, top]
            return tape.gradient(score, x)

        if compile_kind != "eager":
            step = tf.function(step, jit_compile=compile_kind == "xla")
        return lambda: step().numpy()

    torch_model = ref.SqueezeNet(1000)
    ref.load_arrays(torch_model, state)
    # As the course's notebook does: only the image's gradient is wanted. Left on, PyTorch
    # also computes every weight gradient (~20 % more time here), which the TF function,
    # whose unused filter gradients are pruned, never does.
    torch_model = torch_model.float().eval().requires_grad_(False)
    x_torch = torch.from_numpy(image.transpose(0, 3, 1, 2).copy())

    def torch_variant(net):
        def step():
            xt = x_torch.clone().requires_grad_()
            net(xt)[0, top].backward()
            return xt.grad.numpy()

        return step

    # Multiply-adds of every conv at this size, x2 for FLOPs, x2 for the forward and the
    # backward to the image (about one more forward; no weight gradients on either side).
    flops = 2 * 2 * _conv_macs(torch_model, x_torch)
    specs = floor.layer_specs(torch_model, x_torch)  # forward and image gradient
    return flops, {
        "tf-eager": tf_variant("eager"),
        "tf-function": tf_variant("function"),
        "tf-xla": tf_variant("xla"),
        "pytorch": torch_variant(torch_model),
        "pytorch-compiled": torch_variant(torch.compile(copy.deepcopy(torch_model))),
        "floor-tf": floor.tf_floor(specs),
        "floor-pytorch": floor.torch_floor(specs),
    }


def _conv_macs(torch_model, x):
    """Multiply-adds of every convolution in one forward pass, counted with hooks."""
    import torch

    macs = []

    def hook(module, _, out):
        macs.append(out.numel() * module.in_channels // module.groups
                    * module.kernel_size[0] * module.kernel_size[1])

    handles = [m.register_forward_hook(hook) for m in torch_model.modules()
               if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        torch_model(x)
    for h in handles:
        h.remove()
    return sum(macs)
