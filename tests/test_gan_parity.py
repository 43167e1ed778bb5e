"""The GANs against torchref.gan: weights copied across, logits, losses, every gradient, and
one full discriminator-then-generator Adam step."""

import contextlib

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
from tfcs231n.parity.engine import TOLERANCES, compare_arrays
from torchref import gan as ref

ARCHS = {
    "discriminator": (gan.discriminator, ref.discriminator, 784),
    "generator": (lambda: gan.generator(8), lambda: ref.generator(8), 8),
    "dc_discriminator": (gan.dc_discriminator, ref.dc_discriminator, 784),
    "dc_generator": (lambda: gan.dc_generator(8), lambda: ref.dc_generator(8), 8),
}
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


@contextlib.contextmanager
def floatx(dtype):
    """Layers built inside compute and store in `dtype`.

    Setting floatx alone is not enough: Keras caches its global dtype policy the first time
    any layer is built, and layers take their dtype from that policy. Without resetting it,
    these tests' float64 models silently ran in float32 whenever an earlier test had built
    a model first (and in float64 throughout when this file ran first).
    """
    old, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old)
        keras.config.set_dtype_policy(old_policy)


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


def _unbiased_to_biased(torch_var, var0, path, model, batch):
    """PyTorch's running variance after the step, as Keras would hold it.

    Both update ``var <- (1 - m) var + m * batch_var`` (m = 0.01 in PyTorch's terms), twice
    in one step (the generator runs on z_d, then on z_g), but PyTorch uses the unbiased batch
    variance (times n / (n - 1), n = values per channel) and Keras the biased one.
    """
    layer = next(l for l in model.layers if any(w.path == path for w in l.weights))
    n = batch * int(np.prod(layer.input.shape[1:-1]))
    start = layer.momentum ** 2 * var0  # Keras's momentum is the fraction kept
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
