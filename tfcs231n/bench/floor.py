"""A workload's floor: its heavy ops (matmuls, convolutions) alone, at its shapes.

Each workload lists its matmuls and convolutions with how often a step runs each one
forward, backward to its input and backward to its weights; `tf_floor` and `torch_floor`
run exactly those ops and nothing else (no activations, losses, optimiser or framework
bookkeeping). The faster of the two is the workload's floor: a step can hardly beat it,
and a variant's time as a share of it says how much goes elsewhere.

Layouts follow TF: images (batch, height, width, channels), kernels (kh, kw, in, out).
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class MatMul:
    """(m, k) @ (k, n), and its gradients: to the input (m, n) @ (n, k), to the weights
    (k, m) @ (m, n). forward / input_grad / weight_grad: how often a step runs each."""

    m: int
    k: int
    n: int
    forward: int = 1
    input_grad: int = 1
    weight_grad: int = 1


@dataclasses.dataclass(frozen=True)
class Conv:
    """A 2-D convolution from (batch, *in_hw, in_channels) to (batch, *out_hw,
    out_channels) with a (kh, kw) kernel, (sh, sw) stride and symmetric zero padding (ph, pw),
    as torch.nn.Conv2d / ConvTranspose2d define them (transposed=True for the latter).
    forward / input_grad / weight_grad: how often a step runs each."""

    batch: int
    in_hw: tuple
    out_hw: tuple
    in_channels: int
    out_channels: int
    kernel: tuple
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    transposed: bool = False
    forward: int = 1
    input_grad: int = 1
    weight_grad: int = 0

    def as_direct(self):
        """(x shape, y shape, kernel shape, counts of (conv, input-grad, filter-grad)) of
        the direct convolution that runs the same ops: a transposed convolution's forward
        is a convolution's input gradient, and its input gradient a convolution."""
        x = (self.batch, *self.in_hw, self.in_channels)
        y = (self.batch, *self.out_hw, self.out_channels)
        if not self.transposed:
            return x, y, (*self.kernel, self.in_channels, self.out_channels), (
                self.forward, self.input_grad, self.weight_grad)
        return y, x, (*self.kernel, self.out_channels, self.in_channels), (
            self.input_grad, self.forward, self.weight_grad)


def arrays(specs, seed=0):
    """float32 operands of every op, drawn from one seeded generator, TF layout:
    per MatMul (a (m, k), b (k, n), dy (m, n)); per Conv (x, kernel, dy) of `as_direct`."""
    rng = np.random.default_rng(seed)

    def draw(*shape):
        return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

    out = []
    for s in specs:
        if isinstance(s, MatMul):
            out.append((draw(s.m, s.k), draw(s.k, s.n), draw(s.m, s.n)))
        else:
            x, y, w, _ = s.as_direct()
            out.append((draw(*x), draw(*w), draw(*y)))
    return out


def tf_floor(specs, seed=0):
    """A blocking callable that runs every op of `specs` in one `tf.function`; it returns
    the results in spec order, matmuls as (forward, input grad, weight grad) and convolutions
    as (conv, input grad, filter grad) of `Conv.as_direct`, each once."""
    import tensorflow as tf

    operands = [tuple(tf.constant(a) for a in ops) for ops in arrays(specs, seed)]

    @tf.function
    def run():
        results = []
        for s, (a, b, dy) in zip(specs, operands):
            if isinstance(s, MatMul):
                counts = (s.forward, s.input_grad, s.weight_grad)
                ops = (lambda: tf.matmul(a, b), lambda: tf.matmul(dy, b, transpose_b=True),
                       lambda: tf.matmul(a, dy, transpose_a=True))
            else:
                x_shape, _, w_shape, counts = s.as_direct()
                strides = [1, *s.stride, 1]
                (ph, pw) = s.padding
                pads = [[0, 0], [ph, ph], [pw, pw], [0, 0]]
                flat = [p for pair in pads for p in pair]
                ops = (lambda: tf.nn.conv2d(a, b, strides, pads),
                       lambda: tf.raw_ops.Conv2DBackpropInput(
                           input_sizes=x_shape, filter=b, out_backprop=dy, strides=strides,
                           padding="EXPLICIT", explicit_paddings=flat),
                       lambda: tf.raw_ops.Conv2DBackpropFilter(
                           input=a, filter_sizes=w_shape, out_backprop=dy, strides=strides,
                           padding="EXPLICIT", explicit_paddings=flat))
            # Every result is returned, so graph pruning keeps every repeat.
            results.append(tuple([op() for _ in range(n)] for op, n in zip(ops, counts)))
        return results

    def call():
        out = run()
        return [tuple(r[0].numpy() if r else None for r in ops) for ops in out]

    return call


def torch_floor(specs, seed=0):
    """As `tf_floor`, in PyTorch (NCHW inside); the results come back in TF layout."""
    import torch

    def to_torch(a, kernel=False):
        a = torch.from_numpy(a)
        if a.dim() == 4:  # (N, H, W, C) -> (N, C, H, W); (kh, kw, in, out) -> (out, in, kh, kw)
            a = a.permute(3, 2, 0, 1) if kernel else a.permute(0, 3, 1, 2)
        return a.contiguous()

    operands = [(to_torch(a), to_torch(b, kernel=True), to_torch(dy))
                for a, b, dy in arrays(specs, seed)]
    back = torch.ops.aten.convolution_backward

    def ops_of(s, a, b, dy):
        if isinstance(s, MatMul):
            return (s.forward, s.input_grad, s.weight_grad), (
                lambda: a @ b, lambda: dy @ b.T, lambda: a.T @ dy)
        *_, counts = s.as_direct()
        conv = dict(stride=list(s.stride), padding=list(s.padding))

        def grad(mask):
            # What autograd calls for a convolution's backward; one gradient per call here.
            return [g for g in back(dy, a, b, None, conv["stride"], conv["padding"], [1, 1],
                                    False, [0, 0], 1, mask) if g is not None][0]

        return counts, (lambda: torch.nn.functional.conv2d(a, b, **conv),
                        lambda: grad([True, False, False]), lambda: grad([False, True, False]))

    def from_torch(t, kernel=False):
        if t is None:
            return None
        if t.dim() == 4:
            t = t.permute(2, 3, 1, 0) if kernel else t.permute(0, 2, 3, 1)
        return t.numpy()

    def call():
        results = []
        with torch.no_grad():
            for s, (a, b, dy) in zip(specs, operands):
                counts, ops = ops_of(s, a, b, dy)
                firsts = []
                for i, (op, n) in enumerate(zip(ops, counts)):
                    outs = [op() for _ in range(n)]
                    firsts.append(from_torch(outs[0], kernel=i == 2 and isinstance(s, Conv))
                                  if outs else None)
                results.append(tuple(firsts))
        return results

    return call


def layer_specs(model, x, forward=1, input_grad=1, weight_grad=0, first_input_grad=None):
    """The MatMul / Conv of every torch.nn.Linear, Conv2d and ConvTranspose2d of `model`,
    at the shapes one forward of `x` gives them (run in eval mode, without gradients).

    forward / input_grad / weight_grad: the counts every layer gets; first_input_grad: the
    first layer's input_grad instead (0 where nothing needs the gradient of `x`).
    """
    import torch

    specs = []

    def hook(module, inputs, out):
        i = inputs[0]
        counts = dict(forward=forward, weight_grad=weight_grad,
                      input_grad=input_grad if specs or first_input_grad is None
                      else first_input_grad)
        if isinstance(module, torch.nn.Linear):
            specs.append(MatMul(i.numel() // module.in_features, module.in_features,
                                module.out_features, **counts))
            return
        if module.groups != 1 or any(d != 1 for d in module.dilation):
            raise ValueError(f"layer_specs handles plain convolutions, got {module}")
        specs.append(Conv(i.shape[0], tuple(i.shape[2:]), tuple(out.shape[2:]),
                          module.in_channels, module.out_channels, tuple(module.kernel_size),
                          tuple(module.stride), tuple(module.padding),
                          isinstance(module, torch.nn.ConvTranspose2d), **counts))

    kinds = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return specs
