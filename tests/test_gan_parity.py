"""The GANs against torchref.gan: weights copied across, logits, losses, every gradient, and
one full discriminator-then-generator Adam step; WGAN-GP's critic loss, its second-order
weight gradient, and one full iteration (five critic steps, one generator step)."""


import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from parity_helpers import parity_params
from tfcs231n.gan import models as gan
from tfcs231n.gan import losses as gan_losses
from tfcs231n.gan import weights as gan_weights
from tfcs231n.parity import engine as parity
from tfcs231n.parity.engine import TOLERANCES, compare_arrays, floatx
from torchref import gan as ref

ARCHS = {
    "discriminator": (gan.discriminator, ref.discriminator, 784),
    "generator": (lambda: gan.generator(8), lambda: ref.generator(8), 8),
    "dc_discriminator": (gan.dc_discriminator, ref.dc_discriminator, 784),
    "dc_generator": (lambda: gan.dc_generator(8), lambda: ref.dc_generator(8), 8),
}
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _torch_model(make, dtype, seed=0):
    torch.manual_seed(seed)
    model = make().to(TORCH_DTYPES[dtype])
    for module in model.modules():  # non-trivial batch-norm parameters and statistics
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _keras_from_torch(make, torch_model, dtype):
    with floatx(dtype):
        model = make()
    return gan_weights.load_torch_state(model, _state(torch_model))


def _grads_as_keras(make, torch_model, dtype):
    """Torch parameter gradients laid out as the Keras model's trainable weights."""
    grads = {k: (p.grad if p.grad is not None else torch.zeros_like(p)).numpy()
             for k, p in torch_model.named_parameters()}
    state = {k: grads.get(k, v) for k, v in _state(torch_model).items()}
    model = gan_weights.load_torch_state(_fresh(make, dtype), state)
    return [w.numpy() for w in model.trainable_weights]


def _check_grad(name, actual, desired, dtype, rows):
    """A weight gradient: float32 under its policy; float64 elementwise and norm-wise.

    A weight gradient sums over the batch, and batch norm makes those sums cancel (its
    input gradients add up to 0 over the batch): some elements are mathematically 0 or
    tiny and carry pure round-off. In float64 the course's elementwise 1e-9 is applied to
    elements above 1e-6 of the tensor's largest, and the whole array must agree to 1e-9.
    """
    if dtype == "float32":
        return _check(name, actual, desired, dtype, rows)
    big = np.abs(desired) >= 1e-6 * np.abs(desired).max()
    row = compare_arrays(name, np.where(big, actual, desired), desired, TOLERANCES[dtype])
    full = compare_arrays(name, actual, desired, TOLERANCES[dtype])
    row.array_rel = full.array_rel
    row.ok = row.ok and full.array_rel <= TOLERANCES[dtype].course_rel
    if not row.ok and not row.problem:
        row.problem = "array relative error over tolerance"
    rows.append(row)
    return row.ok


def _unbiased_to_biased(torch_var, var0, path, model, batch, updates=2):
    """PyTorch's running variance after the step, as Keras would hold it.

    Both update ``var <- (1 - m) var + m * batch_var`` (m = 0.01 in PyTorch's terms), once
    per generator call in training mode (the course's step: twice, on z_d then on z_g),
    but PyTorch uses the unbiased batch variance (times n / (n - 1), n = values per
    channel) and Keras the biased one.
    """
    layer = next(l for l in model.layers if any(w.path == path for w in l.weights))
    n = batch * int(np.prod(layer.input.shape[1:-1]))
    start = layer.momentum ** updates * var0  # Keras's momentum is the fraction kept
    return start + (torch_var - start) * (n - 1) / n


def _fresh(make, dtype):
    with floatx(dtype):
        return make()


def _check(name, actual, desired, dtype, rows):
    row = compare_arrays(name, actual, desired, TOLERANCES[dtype])
    rows.append(row)
    return row.ok


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_architecture_outputs_and_all_gradients(arch, dtype, training):
    make_tf, make_torch, in_dim = ARCHS[arch]
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (6, in_dim)).astype(dtype)
    torch_model = _torch_model(make_torch, dtype)
    torch_model.train(training)
    model = _keras_from_torch(make_tf, torch_model, dtype)

    xt = torch.from_numpy(x).requires_grad_()
    out_t = torch_model(xt)
    dout = rng.standard_normal(tuple(out_t.shape)).astype(dtype)
    out_t.backward(torch.from_numpy(dout))

    xk = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xk)
        out_k = model(xk, training=training)
        total = tf.reduce_sum(out_k * dout)
    grads = tape.gradient(total, [xk] + model.trainable_weights)

    rows = []
    ok = _check("out", out_k.numpy(), out_t.detach().numpy(), dtype, rows)
    ok &= _check("dx", grads[0].numpy(), xt.grad.numpy(), dtype, rows)
    desired = _grads_as_keras(make_tf, torch_model, dtype)
    for w, g, d in zip(model.trainable_weights, grads[1:], desired):
        ok &= _check_grad(f"d{w.path}", g.numpy(), d, dtype, rows)
    assert ok, parity.format_table([parity.ParityReport(arch, dtype, rows)])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@parity_params("gan")
def test_losses_and_gradients_match_pytorch(case, shape_index, dtype):
    parity.assert_parity(case.run(dtype, seed=shape_index))


# The acceptance: one D-then-G step gives the same weights within the float32
# policy. Adam (the course's optimizer) runs in float64; in float32 its first step,
# lr * g / (|g| + eps), turns the round-off of near-zero gradients into weight differences
# of up to 2.4e-6 (DCGAN: ~250 of 6.4M elements), so float32 arithmetic is checked with SGD,
# whose update is linear in the gradient. Weights after a step are compared, not updates:
# an update of a weight that nearly cancels it (w0 ~ lr) is ill-conditioned elementwise.
STEP_CASES = [("float64", "adam"), ("float32", "sgd")]


@pytest.mark.parametrize("dtype,optimizer", STEP_CASES)
@pytest.mark.parametrize("kind", ["vanilla", "lsgan", "dcgan"])
def test_one_discriminator_then_generator_step(kind, dtype, optimizer):
    """Same losses, and the same weights (float32 policy) after one D and one G step."""
    make_d, make_g = gan.ARCHITECTURES[kind]
    ref_d, ref_g = {"vanilla": (ref.discriminator, ref.generator),
                    "lsgan": (ref.discriminator, ref.generator),
                    "dcgan": (ref.dc_discriminator, ref.dc_generator)}[kind]
    losses_t = {"vanilla": (ref.discriminator_loss, ref.generator_loss),
                "lsgan": (ref.ls_discriminator_loss, ref.ls_generator_loss),
                "dcgan": (ref.discriminator_loss, ref.generator_loss)}[kind]
    noise_dim, n = 16, 8
    rng = np.random.default_rng(2)
    real = rng.uniform(-1, 1, (n, 784)).astype(dtype)
    z_d, z_g = (rng.uniform(-1, 1, (n, noise_dim)).astype(dtype) for _ in range(2))

    D_t = _torch_model(ref_d, dtype, seed=3)
    G_t = _torch_model(lambda: ref_g(noise_dim), dtype, seed=4)
    D_k = _keras_from_torch(make_d, D_t, dtype)
    G_k = _keras_from_torch(lambda: make_g(noise_dim), G_t, dtype)
    before = {w.path: w.numpy().copy() for w in D_k.weights + G_k.weights}

    if optimizer == "adam":
        # Keras's Adam adds eps to sqrt(v_hat * (1 - beta2^t)); PyTorch's to sqrt(v_hat):
        # at step 1 they agree when PyTorch's eps is Keras's / sqrt(1 - beta2). beta2 =
        # 1 - 2^-10 (the course's 0.999 to 4 digits) is exact in float32: Keras's Adam
        # converts beta2 to a float32 tensor before casting it to float64.
        beta2 = 1 - 2.0 ** -10
        eps = 1e-7 / np.sqrt(1 - beta2)
        solvers_t = [torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.5, beta2), eps=eps)
                     for m in (D_t, G_t)]
        with floatx(dtype):
            solvers_k = [keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=beta2)
                         for _ in range(2)]
    else:
        solvers_t = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (D_t, G_t)]
        with floatx(dtype):
            solvers_k = [keras.optimizers.SGD(0.1) for _ in range(2)]
    d_loss_t, g_loss_t = ref.gan_step(
        D_t, G_t, *solvers_t, torch.from_numpy(real), torch.from_numpy(z_d),
        torch.from_numpy(z_g), *losses_t)

    model = gan.GAN(D_k, G_k, noise_dim)
    model.compile(*solvers_k, *gan_losses.LOSSES[kind])
    d_loss_k, g_loss_k = model.gan_step(tf.constant(real), tf.constant(z_d), tf.constant(z_g))

    rows = []
    ok = _check("d_loss", d_loss_k.numpy(), np.float64(d_loss_t), dtype, rows)
    ok &= _check("g_loss", g_loss_k.numpy(), np.float64(g_loss_t), dtype, rows)
    for make, net_t, net_k in ((make_d, D_t, D_k), (lambda: make_g(noise_dim), G_t, G_k)):
        desired = gan_weights.load_torch_state(_fresh(make, dtype), _state(net_t))
        for w, d in zip(net_k.weights, desired.weights):
            d, w0 = d.numpy(), before[w.path]
            if "moving_variance" in w.path:
                ok &= _check(w.path, w.numpy(), _unbiased_to_biased(d, w0, w.path, G_k, n),
                             dtype, rows)
            elif "moving_mean" in w.path:
                ok &= _check(w.path, w.numpy(), d, dtype, rows)
            else:
                ok &= _check(w.path, w.numpy(), d, "float32", rows)
    assert ok, parity.format_table([parity.ParityReport(kind, dtype, rows)])


def _critic_pair(dtype, seed=3):
    """PyTorch's DC critic (seeded) and the Keras one with its weights."""
    critic_t = _torch_model(ref.dc_critic, dtype, seed=seed)
    return critic_t, _keras_from_torch(gan.dc_critic, critic_t, dtype)


def _critic_inputs(dtype, n=8):
    rng = np.random.default_rng(5)
    real, fake = (rng.uniform(-1, 1, (n, 784)).astype(dtype) for _ in range(2))
    return real, fake, rng.uniform(0, 1, (n, 1)).astype(dtype)


def _torch_critic_loss(critic_t, real, fake, epsilon):
    """WGAN-GP's loss, its penalty, and the loss's weight gradients in Keras's layout."""
    critic_t.zero_grad()
    args = [torch.from_numpy(a) for a in (real, fake, epsilon)]
    loss = ref.wgan_gp_critic_loss(critic_t, *args[:2], 10.0, args[2])
    loss.backward()
    penalty = ref.gradient_penalty(critic_t, *args)
    dtype = real.dtype.name
    return (loss.item(), penalty.item(),
            _grads_as_keras(gan.dc_critic, critic_t, dtype))


def _check_critic_grads(grads, desired, critic, dtype):
    rows = []
    ok = True
    for w, g, d in zip(critic.trainable_weights, grads, desired):
        g = np.zeros(w.shape) if g is None else g.numpy()
        ok &= _check_grad(f"d{w.path}", g, d, dtype, rows)
    return ok, rows


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_wgan_gp_critic_loss_and_every_weight_gradient(dtype):
    """The loss and its gradient for every critic weight, through the penalty's input
    gradient (second order). The penalty is a real part of both: not zero, and its weight
    gradient not small beside the score term's."""
    critic_t, critic = _critic_pair(dtype)
    real, fake, epsilon = _critic_inputs(dtype)
    loss_t, penalty_t, grads_t = _torch_critic_loss(critic_t, real, fake, epsilon)

    with tf.GradientTape(persistent=True) as tape:
        loss = gan_losses.wgan_gp_critic_loss(critic, real, fake, 10.0, epsilon)
        penalty = gan_losses.gradient_penalty(critic, real, fake, epsilon)
    grads = tape.gradient(loss, critic.trainable_weights)
    penalty_grads = tape.gradient(penalty, critic.trainable_weights)

    rows = []
    ok = _check("loss", loss.numpy(), loss_t, dtype, rows)
    ok &= _check("penalty", penalty.numpy(), penalty_t, dtype, rows)
    grads_ok, grad_rows = _check_critic_grads(grads, grads_t, critic, dtype)
    assert ok and grads_ok, parity.format_table(
        [parity.ParityReport("wgan_gp_critic_loss", dtype, rows + grad_rows)])

    assert 10.0 * penalty.numpy() > 0.1 * abs(loss.numpy())
    first_kernel = penalty_grads[0].numpy()  # the first convolution's kernel
    assert np.linalg.norm(10.0 * first_kernel) > 0.1 * np.linalg.norm(grads[0].numpy())


def test_dropping_the_nested_tape_fails_the_weight_gradient_check():
    """The same loss with the penalty's input gradient taken outside the recording tape
    (what forgetting ``create_graph=True`` does): the value still matches PyTorch, the
    weight gradients do not. So the check above sees the second-order term."""
    dtype = "float64"
    critic_t, critic = _critic_pair(dtype)
    real, fake, epsilon = _critic_inputs(dtype)
    loss_t, _, grads_t = _torch_critic_loss(critic_t, real, fake, epsilon)

    with tf.GradientTape() as tape:
        scores = gan_losses.wgan_critic_loss(critic(real), critic(fake))
        with tape.stop_recording():  # the input gradient becomes a constant
            penalty = gan_losses.gradient_penalty(critic, real, fake, epsilon)
        loss = scores + 10.0 * penalty
    grads = tape.gradient(loss, critic.trainable_weights)

    rows = []
    assert _check("loss", loss.numpy(), loss_t, dtype, rows), rows
    grads_ok, grad_rows = _check_critic_grads(grads, grads_t, critic, dtype)
    assert not grads_ok
    failed = [r.tensor for r in grad_rows if not r.ok]
    assert any("kernel" in name for name in failed), failed


# One WGAN-GP iteration: five critic Adam steps, then one generator step. float64 uses the
# paper's Adam(1e-4, 0, 0.9) against torchref's KerasAdam (Keras's epsilon placement at
# every step, which the critic's five steps need); beta2 is 0.9 rounded to float32, which
# Keras's Adam uses for its bias correction. float32 uses SGD, as the course GANs' step
# test above explains.
WGAN_STEP_CASES = [("float64", "adam"), ("float32", "sgd")]


@pytest.mark.parametrize("dtype,optimizer", WGAN_STEP_CASES)
def test_one_wgan_gp_iteration(dtype, optimizer):
    """Same losses, and the same weights (float32 policy) after five critic updates (each
    on its own batch, noise and epsilons) and one generator update."""
    noise_dim, n, k = 16, 8, 5
    rng = np.random.default_rng(6)
    real = rng.uniform(-1, 1, (n, k, 784)).astype(dtype)
    z_d = rng.uniform(-1, 1, (n, k, noise_dim)).astype(dtype)
    z_g = rng.uniform(-1, 1, (n, noise_dim)).astype(dtype)
    epsilon = rng.uniform(0, 1, (n, k, 1)).astype(dtype)

    D_t, D_k = _critic_pair(dtype)
    G_t = _torch_model(lambda: ref.dc_generator(noise_dim), dtype, seed=4)
    G_k = _keras_from_torch(lambda: gan.dc_generator(noise_dim), G_t, dtype)
    before = {w.path: w.numpy().copy() for w in D_k.weights + G_k.weights}

    if optimizer == "adam":
        settings = gan.TRAINING["wgan-gp"]
        lr, beta1 = settings["learning_rate"], settings["beta1"]
        beta2 = float(np.float32(settings["beta2"]))
        solvers_t = [ref.KerasAdam(m.parameters(), lr=lr, betas=(beta1, beta2))
                     for m in (D_t, G_t)]
        with floatx(dtype):
            solvers_k = gan.get_solvers(lr, beta1, beta2)
    else:  # 0.1, as above, sends the unbounded critic's loss to inf within five steps
        solvers_t = [torch.optim.SGD(m.parameters(), lr=0.01) for m in (D_t, G_t)]
        with floatx(dtype):
            solvers_k = [keras.optimizers.SGD(0.01) for _ in range(2)]
    d_loss_t, g_loss_t = ref.wgan_gp_step(
        D_t, G_t, *solvers_t, *(torch.from_numpy(a) for a in (real, z_d, epsilon, z_g)))

    model = gan.GAN(D_k, G_k, noise_dim, n_critic=k, lambda_gp=10.0)
    model.compile(*solvers_k, *gan_losses.LOSSES["wgan-gp"])
    d_loss_k, g_loss_k = model.gan_step(*(tf.constant(a) for a in (real, z_d, z_g, epsilon)))

    rows = []
    ok = _check("d_loss", d_loss_k.numpy(), np.float64(d_loss_t), dtype, rows)
    ok &= _check("g_loss", g_loss_k.numpy(), np.float64(g_loss_t), dtype, rows)
    for make, net_t, net_k in ((gan.dc_critic, D_t, D_k),
                               (lambda: gan.dc_generator(noise_dim), G_t, G_k)):
        desired = gan_weights.load_torch_state(_fresh(make, dtype), _state(net_t))
        visible = False  # the step moved some weight by more than the tolerance
        for w, d in zip(net_k.weights, desired.weights):
            d, w0 = d.numpy(), before[w.path]
            if "moving_variance" in w.path:  # k + 1 generator calls in training mode
                d = _unbiased_to_biased(d, w0, w.path, G_k, n, updates=k + 1)
                ok &= _check(w.path, w.numpy(), d, dtype, rows)
            elif "moving_mean" in w.path:
                ok &= _check(w.path, w.numpy(), d, dtype, rows)
            else:
                ok &= _check(w.path, w.numpy(), d, "float32", rows)
                visible |= not compare_arrays(w.path, w0, d, TOLERANCES["float32"]).ok
        assert visible, f"{net_k.name}: the step's updates are within the tolerance"
    assert ok, parity.format_table([parity.ParityReport("wgan-gp", dtype, rows)])


def test_bench_workload_starts_both_frameworks_from_the_same_weights():
    from tfcs231n.bench.gan import workload as gan_workload

    flops, fns = gan_workload(batch_size=16)
    assert set(fns) == {"tf-eager", "tf-function", "tf-xla", "pytorch", "pytorch-compiled",
                        "floor-tf", "floor-pytorch"}
    # Multiply-adds per sample, by hand. G: fc 96x1024, fc 1024x6272, transposed convs
    # (7*7*128 inputs x 64 x 4x4, 14*14*64 inputs x 1 x 4x4). D: conv 24*24*32 outputs x 5x5,
    # conv 8*8*64 outputs x 32 x 5x5, fc 1024x1024, fc 1024x1.
    g = 96 * 1024 + 1024 * 6272 + 7 * 7 * 128 * 64 * 16 + 14 * 14 * 64 * 16
    d = 24 * 24 * 32 * 25 + 8 * 8 * 64 * 32 * 25 + 1024 * 1024 + 1024
    assert flops == 2 * 16 * (4 * g + 9 * d)
    # The D loss comes before any update (same weights and inputs); the G loss after one
    # Adam step of D (the same update, with torchref's epsilon matched to Keras's).
    tf_losses, torch_losses = fns["tf-eager"](), fns["pytorch"]()
    row = compare_arrays("first D, G losses", np.array(tf_losses), np.array(torch_losses),
                         TOLERANCES["float32"])
    assert row.ok, row


def test_floatx_context_sets_the_layer_dtype():
    gan.discriminator()  # a layer built first caches Keras's global dtype policy
    for dtype in ("float64", "float32"):
        with floatx(dtype):
            model = gan.dc_generator(8)
        assert {w.dtype for w in model.weights} == {dtype}
        assert model(np.zeros((2, 8), dtype)).dtype == dtype


def test_wgan_gp_bench_workload_gives_the_same_critic_loss():
    from tfcs231n.bench.gan import wgan_gp_workload

    flops, fns = wgan_gp_workload(batch_size=16)
    assert set(fns) == {"tf-eager", "tf-function", "tf-xla", "pytorch"}
    g = 96 * 1024 + 1024 * 6272 + 7 * 7 * 128 * 64 * 16 + 14 * 14 * 64 * 16
    d = 24 * 24 * 32 * 25 + 8 * 8 * 64 * 32 * 25 + 1024 * 1024 + 1024
    assert flops == 2 * 16 * (g + 12 * d)
    # The first call's loss comes before any update: same weights, batch, noise, epsilons.
    # The second, after one critic update each (the same Adam, epsilon placed as Keras's).
    tf_losses = [fns["tf-function"]() for _ in range(2)]
    torch_losses = [fns["pytorch"]() for _ in range(2)]
    row = compare_arrays("critic losses", np.array(tf_losses), np.array(torch_losses),
                         TOLERANCES["float32"])
    assert row.ok, row
    assert tf_losses[0] != tf_losses[1]  # the step updates the critic
