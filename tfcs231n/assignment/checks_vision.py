"""The visualization and style-transfer checks, through the tape against `torchref`.

Visualization runs the student's functions on a small float64 convnet (conv, ReLU, global
average pool, dense) built with the same weights in Keras and PyTorch; style transfer
compares each loss and its gradients with `torchref.style_transfer` (NCHW there).
"""

import numpy as np
import tensorflow as tf

from tfcs231n.assignment import mistakes
from tfcs231n.assignment.judge import Case
from tfcs231n.parity.engine import torch_reference

NUM_CLASSES = 5
IMAGES = [(2, 8, 9), (1, 7, 7), (3, 5, 11)]  # (N, H, W), three channels


def _label(shape):
    return "x".join(map(str, shape))


# ----------------------------------------------------------------------------- models

def tiny_models(seed, scale=1.0):
    """(Keras model, PyTorch model) with the same weights: NHWC / NCHW images -> scores;
    `scale` multiplies the dense weights (steeper scores, so fooling takes few steps)."""
    import keras
    import torch

    from tfcs231n import interop

    rng = np.random.default_rng(100 + seed)
    kernel, bias = rng.standard_normal((3, 3, 3, 4)) / 3, rng.standard_normal(4) * 0.1
    dense = scale * rng.standard_normal((4, NUM_CLASSES))
    dense_b = rng.standard_normal(NUM_CLASSES)
    k = keras.Sequential([keras.Input((None, None, 3), dtype="float64"),
                          keras.layers.Conv2D(4, 3, activation="relu", dtype="float64"),
                          keras.layers.GlobalAveragePooling2D(dtype="float64"),
                          keras.layers.Dense(NUM_CLASSES, dtype="float64")])
    k.layers[0].set_weights([kernel, bias])
    k.layers[2].set_weights([dense, dense_b])
    t = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                            torch.nn.Linear(4, NUM_CLASSES)).double()
    with torch.no_grad():
        t[0].weight.copy_(torch.from_numpy(interop.conv_keras_to_torch(kernel)))
        t[0].bias.copy_(torch.from_numpy(bias))
        t[4].weight.copy_(torch.from_numpy(interop.dense_keras_to_torch(dense)))
        t[4].bias.copy_(torch.from_numpy(dense_b))
    return k, t


def _nchw(x):
    import torch

    return torch.from_numpy(np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))))


def _nhwc(t):
    return np.transpose(t.detach().numpy(), (0, 2, 3, 1))


def saliency_cases(student):
    from torchref import visualization as ref

    for seed, (N, H, W) in enumerate(IMAGES):
        rng = np.random.default_rng(seed)
        X, y = rng.standard_normal((N, H, W, 3)), rng.integers(0, NUM_CLASSES, N)
        keras_model, torch_model = tiny_models(seed)
        got = student(X.copy(), y.copy(), keras_model)
        import torch

        want = ref.compute_saliency_maps(_nchw(X), torch.from_numpy(y), torch_model).numpy()

        def grad(X=X, y=y, torch_model=torch_model):
            Xt = _nchw(X).requires_grad_()
            torch_model(Xt).gather(1, torch.from_numpy(y).view(-1, 1)).sum().backward()
            return _nhwc(Xt.grad)

        yield Case(_label((N, H, W)), {"saliency": got}, {"saliency": want}, alternatives={
            "no absolute value: the saliency is max over channels of |dscore/dX|":
                lambda grad=grad: {"saliency": grad().max(axis=-1)},
            "summed over channels: take the max of |dscore/dX| over channels":
                lambda grad=grad: {"saliency": np.abs(grad()).sum(axis=-1)}})


def _fool(X, target, torch_model, normalise=True):
    """The course's loop in PyTorch: a normalised ascent step until the model says target."""
    import torch
    from torchref import visualization as ref

    Xt = _nchw(X).requires_grad_()
    for _ in range(100):
        if int(torch_model(Xt).argmax(1)[0]) == target:
            break
        if normalise:
            ref.fooling_step(Xt, target, torch_model)
        else:
            torch_model(Xt)[0, target].backward()
            with torch.no_grad():
                Xt += Xt.grad
                Xt.grad.zero_()
    return _nhwc(Xt)


def fooling_cases(student):
    for seed, (_, H, W) in enumerate(IMAGES):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((1, H, W, 3))
        keras_model, torch_model = tiny_models(seed, scale=H * W)
        target = int(np.argsort(keras_model(X).numpy()[0])[-2])  # the runner-up class
        got = student(X.copy(), target, keras_model)
        yield Case(f"{_label((1, H, W))},target={target}", {"X_fooling": got},
                   {"X_fooling": _fool(X, target, torch_model)}, alternatives={
                       "unnormalised step: divide the gradient by its L2 norm":
                           lambda: {"X_fooling": _fool(X, target, torch_model, False)}})


def class_visualization_cases(student):
    from torchref import visualization as ref

    for seed, (_, H, W) in enumerate(IMAGES):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((1, H, W, 3))
        keras_model, torch_model = tiny_models(seed)
        target = seed % NUM_CLASSES

        def run(l2_reg, learning_rate, X=X, torch_model=torch_model, target=target):
            Xt = _nchw(X).requires_grad_()
            ref.class_visualization_update_step(Xt, torch_model, target, l2_reg, learning_rate)
            return {"X": _nhwc(Xt)}

        got = student(tf.constant(X), keras_model, target, 0.3, 0.7)
        yield Case(_label((1, H, W)), {"X": got}, run(0.3, 0.7), alternatives={
            "half the L2 term (tf.nn.l2_loss is ||X||^2 / 2): use l2_reg * sum(X^2)":
                lambda run=run: run(0.15, 0.7),
            "descent instead of ascent: add the gradient to X": lambda run=run: run(-0.3, -0.7),
            "no L2 regularisation": lambda run=run: run(0.0, 0.7)})


# ----------------------------------------------------------------------------- style

STYLE_SHAPES = [(1, 6, 7, 4), (1, 11, 4, 8), (1, 3, 5, 1)]  # one image, as the course's


def tape_case(label, student_fn, torch_fn, inputs, wrt, out_name, seed, alternatives=()):
    """A Case comparing student_fn(**tensors) and its tape gradients of `wrt` with
    torch_fn(**tensors) under autograd, for one upstream gradient; `alternatives` maps a
    cause to a wrong torch function."""
    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    with tf.GradientTape() as tape:
        tape.watch([tensors[k] for k in wrt])
        out = student_fn(**tensors)
    out = tf.convert_to_tensor(out)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    grads = tape.gradient(out, [tensors[k] for k in wrt],
                          output_gradients=tf.constant(dout, out.dtype))
    actual = {out_name: out, **{f"d{k}": (np.zeros_like(inputs[k]) if g is None else g)
                                for k, g in zip(wrt, grads)}}

    def desired(fn):
        (value,), g = torch_reference(fn)(inputs, [dout])
        return {out_name: value, **{f"d{k}": g[k] for k in wrt}}

    return Case(label, actual, desired(torch_fn),
                alternatives={cause: (lambda fn=fn: desired(fn)) for cause, fn in alternatives})


def _style_torch():
    from torchref import style_transfer as ref

    def nchw(t):
        return t.permute(0, 3, 1, 2)
    return ref, nchw


def content_cases(student):
    ref, nchw = _style_torch()
    for seed, shape in enumerate([(2, 5, 6, 3)] + STYLE_SHAPES):
        rng = np.random.default_rng(seed)
        inputs = {"cur": rng.standard_normal(shape), "orig": rng.standard_normal(shape)}
        yield tape_case(_label(shape), lambda cur, orig: student(0.37, cur, orig),
                        lambda cur, orig: ref.content_loss(0.37, nchw(cur), nchw(orig)),
                        inputs, ("cur", "orig"), "loss", seed, [
                            ("missing content_weight", lambda cur, orig: ref.content_loss(
                                1.0, nchw(cur), nchw(orig))),
                            ("mean instead of sum over the features", lambda cur, orig:
                                ref.content_loss(0.37, nchw(cur), nchw(orig), "mean"))])


def gram_cases(student):
    ref, nchw = _style_torch()
    for seed, shape in enumerate(STYLE_SHAPES):
        inputs = {"x": np.random.default_rng(seed).standard_normal(shape)}
        yield tape_case(_label(shape), lambda x: student(x), lambda x: ref.gram_matrix(nchw(x))[0],
                        inputs, ("x",), "gram", seed,
                        [(cause, lambda x, n=n: ref.gram_matrix(nchw(x), n)[0])
                         for cause, n in mistakes.GRAM.items()])


def style_loss_cases(student):
    ref, nchw = _style_torch()
    for seed, (s0, s1) in enumerate(zip(STYLE_SHAPES, STYLE_SHAPES[1:] + STYLE_SHAPES[:1])):
        rng = np.random.default_rng(seed)
        inputs = {"f0": rng.standard_normal(s0), "f1": rng.standard_normal(s1),
                  "t0": 0.3 * rng.standard_normal((s0[3], s0[3])),
                  "t1": 0.3 * rng.standard_normal((s1[3], s1[3]))}
        unused = tf.zeros((1, 2, 2, 2), tf.float64)  # feats[1]: not a style layer

        def torch_loss(normalize="hwc", reduction="sum"):
            return lambda f0, f1, t0, t1: ref.style_loss(
                {0: nchw(f0), 2: nchw(f1)}, (0, 2), [t0, t1], (3.0, 0.25), reduction, normalize)

        yield tape_case(
            f"{_label(s0)},{_label(s1)}",
            lambda f0, f1, t0, t1: student([f0, unused, f1], [0, 2], [t0, t1], [3.0, 0.25]),
            torch_loss(), inputs, ("f0", "f1", "t0", "t1"), "loss", seed,
            [(cause, torch_loss(n)) for cause, n in mistakes.GRAM.items()]
            + [("mean instead of sum over the Gram entries", torch_loss(reduction="mean"))])


def tv_cases(student):
    ref, nchw = _style_torch()
    for seed, shape in enumerate([(2, 5, 6, 3), (1, 7, 4, 3), (1, 2, 9, 3)]):
        inputs = {"img": np.random.default_rng(seed).standard_normal(shape)}
        yield tape_case(_label(shape), lambda img: student(img, 0.6),
                        lambda img: ref.tv_loss(nchw(img), 0.6), inputs, ("img",), "loss", seed,
                        [(mistakes.TV_ABS, lambda img: ref.tv_loss(nchw(img), 0.6, "abs_sum")),
                         (mistakes.TV_ABS + " (and means)",
                          lambda img: ref.tv_loss(nchw(img), 0.6, "abs_mean")),
                         ("missing tv_weight", lambda img: ref.tv_loss(nchw(img), 1.0))])


_CASES = {"compute_saliency_maps": saliency_cases, "make_fooling_image": fooling_cases,
          "class_visualization_update_step": class_visualization_cases,
          "content_loss": content_cases, "gram_matrix": gram_cases,
          "style_loss": style_loss_cases, "tv_loss": tv_cases}


def cases(name, modules):
    (module,) = modules.values()
    return _CASES[name](getattr(module, name))
