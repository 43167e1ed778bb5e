"""`tfcs231n bench gan` and `bench wgan-gp`: GAN training steps, TF against the PyTorch
reference.

gan: one DCGAN iteration as the course runs it: a discriminator Adam step on 128 real and
128 generated images, then a generator Adam step on 128 new samples.
wgan-gp: one WGAN-GP critic step (WGAN-GP makes five per generator step): the critic's
Adam(1e-4, 0, 0.9) step on 128 real and 128 generated images with the gradient penalty at
128 interpolates, whose weight gradient is second order.

Both frameworks start from the same weights (PyTorch's initialisation, copied with
`tfcs231n.gan.weights.load_torch_state`) and see the same batch, noise and epsilons.
"""

import copy

import numpy as np

BATCH = 128


def _macs(model, x):
    """Multiply-adds per sample of every Linear / Conv2d / ConvTranspose2d in one forward."""
    import torch

    counts = []

    def hook(module, inputs, out):
        if isinstance(module, torch.nn.Linear):
            counts.append(module.in_features * module.out_features)
        elif isinstance(module, torch.nn.ConvTranspose2d):  # every input pixel hits k*k*out
            k = module.kernel_size[0] * module.kernel_size[1]
            counts.append(inputs[0][0].numel() * module.out_channels * k)
        elif isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            counts.append(out[0].numel() * module.in_channels * k)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    was_training = model.training
    model.eval()  # batch norm in training mode refuses a batch of one
    with torch.no_grad():
        model(x[:1])
    model.train(was_training)
    for h in handles:
        h.remove()
    return sum(counts)


def _shared(batch_size, noise_dim):
    """PyTorch's DC networks (seed 0), their state dicts, and the inputs, all float32."""
    import torch

    from torchref import gan as ref

    torch.manual_seed(0)
    t_D, t_G = ref.dc_discriminator(), ref.dc_generator(noise_dim)
    states = [{k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
              for m in (t_D, t_G)]
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (batch_size, 784)).astype(np.float32)
    z_d, z_g = (rng.uniform(-1, 1, (batch_size, noise_dim)).astype(np.float32)
                for _ in range(2))
    epsilon = rng.uniform(0, 1, (batch_size, 1)).astype(np.float32)
    return (t_D, t_G), states, (real, z_d, z_g, epsilon)


def wgan_gp_workload(batch_size=BATCH, noise_dim=96):
    """One WGAN-GP critic update (gradient penalty included) at `batch_size`.

    Returns:
        (flops per update, {variant: blocking zero-argument callable}) for
        `tfcs231n.bench.runner`; each callable returns the critic loss before its update.
    """
    import tensorflow as tf
    import torch

    from tfcs231n.gan import models as gan
    from tfcs231n.gan import weights as gan_weights
    from torchref import gan as ref

    (t_D, t_G), (state_D, state_G), (real, z_d, _, epsilon) = _shared(batch_size, noise_dim)
    settings = gan.TRAINING["wgan-gp"]
    adam = (settings["learning_rate"], settings["beta1"], settings["beta2"])

    def tf_variant(kind):
        D = gan_weights.load_torch_state(gan.dc_critic(), state_D)
        G = gan_weights.load_torch_state(gan.dc_generator(noise_dim), state_G)
        model = gan.GAN(D, G, noise_dim, n_critic=settings["n_critic"],
                        lambda_gp=settings["lambda_gp"])
        model.compile(*gan.get_solvers(*adam), *gan.LOSSES["wgan-gp"])
        args = tuple(tf.constant(a) for a in (real, z_d, epsilon))
        step = model.critic_step
        if kind != "eager":
            step = tf.function(step, jit_compile=kind == "xla")
        return lambda: float(step(*args))

    t_D_solver = ref.get_optimizer(t_D, *adam)
    t_real, t_zd, t_eps = (torch.from_numpy(a) for a in (real, z_d, epsilon))

    def torch_step():
        return ref.wgan_gp_critic_step(t_D, t_G, t_D_solver, t_real, t_zd, t_eps,
                                       settings["lambda_gp"])

    # Per sample, in forwards of the critic (a backward counted as two): forward and
    # backward on real and fake (6), the forward and input gradient at the interpolate (2)
    # and the backward through both (4); plus the generator's forward. FLOPs = 2 x MACs.
    flops = 2 * batch_size * (_macs(t_G, t_zd) + 12 * _macs(t_D, t_real))
    return flops, {"tf-eager": tf_variant("eager"), "tf-function": tf_variant("function"),
                   "tf-xla": tf_variant("xla"), "pytorch": torch_step}


def workload(batch_size=BATCH, noise_dim=96):
    """One DCGAN D-then-G training iteration at `batch_size`.

    Returns:
        (flops per iteration, {variant: blocking zero-argument callable}) for
        `tfcs231n.bench.runner`; variants tf-eager, tf-function, tf-xla, pytorch,
        pytorch-compiled, and the floor's floor-tf and floor-pytorch.
    """
    import tensorflow as tf
    import torch

    from tfcs231n.gan import models as gan
    from tfcs231n.gan import weights as gan_weights
    from tfcs231n.bench import floor
    from torchref import gan as ref

    (t_D, t_G), (state_D, state_G), (real, z_d, z_g, _) = _shared(batch_size, noise_dim)

    def tf_variant(kind):
        D = gan_weights.load_torch_state(gan.dc_discriminator(), state_D)
        G = gan_weights.load_torch_state(gan.dc_generator(noise_dim), state_G)
        model = gan.GAN(D, G, noise_dim)
        model.compile(*gan.get_solvers())
        args = tuple(tf.constant(a) for a in (real, z_d, z_g))
        step = model.gan_step
        if kind != "eager":
            step = tf.function(step, jit_compile=kind == "xla")
        return lambda: [float(v) for v in step(*args)]

    t_D_solver, t_G_solver = ref.get_optimizer(t_D), ref.get_optimizer(t_G)
    t_real, t_zd, t_zg = (torch.from_numpy(a) for a in (real, z_d, z_g))

    def torch_step():
        return ref.gan_step(t_D, t_G, t_D_solver, t_G_solver, t_real, t_zd, t_zg)

    c_D, c_G = copy.deepcopy(t_D), copy.deepcopy(t_G)  # the same weights, updated apart
    c_solvers = ref.get_optimizer(c_D), ref.get_optimizer(c_G)
    compiled_D, compiled_G = torch.compile(c_D), torch.compile(c_G)

    def compiled_step():
        return ref.gan_step(compiled_D, compiled_G, *c_solvers, t_real, t_zd, t_zg)

    # Per sample: the D step runs G forward, D forward and backward on real and fake
    # (2 x 3 forwards); the G step runs G and D forward and backward (3 forwards each,
    # counting a backward as two forwards). FLOPs = 2 x multiply-adds.
    g_macs = _macs(t_G, t_zd)
    d_macs = _macs(t_D, t_real)
    flops = 2 * batch_size * (g_macs + 6 * d_macs + 3 * g_macs + 3 * d_macs)
    # The D step: G forward; D forward and weight gradient on real and on fake. The G step:
    # G forward and backward; D forward and backward to its input.
    specs = [*floor.layer_specs(t_G, t_zd, forward=2, input_grad=1, weight_grad=1,
                                first_input_grad=0),
             *floor.layer_specs(t_D, t_real, forward=3, input_grad=3, weight_grad=2,
                                first_input_grad=1)]
    return flops, {"tf-eager": tf_variant("eager"), "tf-function": tf_variant("function"),
                   "tf-xla": tf_variant("xla"), "pytorch": torch_step,
                   "pytorch-compiled": compiled_step, "floor-tf": floor.tf_floor(specs),
                   "floor-pytorch": floor.torch_floor(specs)}
