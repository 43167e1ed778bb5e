"""The registered parity cases: each TF op beside its `torchref` reference.

`tfcs231n parity`, the test suite and the demo's parity table all run these, so the cases
are defined once. A module registers a function ``dims -> [Case]``; `SHAPES` lists the
dimension sets (every dimension different, so a transposed weight cannot pass).
"""

import dataclasses
import math

from tfcs231n.parity import engine as parity
from tfcs231n.parity.engine import boolean, integers, normal, uniform


@dataclasses.dataclass(frozen=True)
class Case:
    """One comparison: see `parity.compare` for the meaning of the fields."""

    module: str
    name: str
    tf_fn: object
    ref_fn: object
    specs: dict
    wrt: tuple = ()
    output_names: tuple = None

    @property
    def op(self):
        """The op's name: the case name without its "[shape]" suffix."""
        return self.name.split("[", 1)[0]

    def run(self, dtype="float64", seed=0):
        return parity.compare(
            self.name, self.tf_fn, self.ref_fn, self.specs, wrt=self.wrt, dtype=dtype,
            seed=seed, output_names=self.output_names,
        )


# Dimension sets per module: the first is the CLI's; tests run all of them.
SHAPES = {
    "rnn": [
        dict(N=3, T=4, D=5, H=6, V=7),
        dict(N=2, T=9, D=11, H=8, V=13),
        dict(N=5, T=1, D=3, H=10, V=4),
    ],
    "captioning": [
        dict(N=3, T=5, D=7, W=4, H=6, V=9),
        dict(N=4, T=8, D=5, W=6, H=3, V=11),
    ],
    # 224 is the course's size; at 193x257 and 65x97 ceil and floor pooling differ.
    "squeezenet": [
        dict(N=1, H=224, W=224, C=1000),
        dict(N=1, H=193, W=257, C=10),
        dict(N=2, H=65, W=97, C=7),
    ],
    # GAN losses on logits: a course-sized batch, a single row, and an odd size.
    "gan": [dict(N=128), dict(N=1), dict(N=37)],
    # Two feature layers of different sizes; every loss form of tfcs231n.style.optimize.
    "style_transfer": [
        dict(N=2, H=6, W=7, C=4, H2=3, W2=5, C2=9),
        dict(N=1, H=11, W=4, C=8, H2=5, W2=2, C2=3),
    ],
    # torchvision's width and size first; then even and odd sizes at which Keras 'same'
    # padding at stride 2 would shift every window (the trap the model avoids).
    "resnet18": [
        dict(N=1, H=224, W=224, C=1000, width=64),
        dict(N=2, H=64, W=48, C=10, width=16),
        dict(N=3, H=33, W=57, C=7, width=8),
    ],
}

_BUILDERS = {}


def register(module):
    def decorate(builder):
        _BUILDERS[module] = builder
        return builder
    return decorate


def modules():
    return list(_BUILDERS)


def cases(module=None, shape_index=0, ops=None):
    """The cases of one module (or all) for one of its dimension sets.

    Args:
        module: a registered module name; None for all.
        shape_index: which of the module's dimension sets in `SHAPES`.
        ops: keep only cases of these ops (the case name before its "[shape]", e.g.
            "lstm_forward" or "captioning_loss"); unknown names are an error.
    """
    selected = [module] if module else modules()
    out = []
    for m in selected:
        if m not in _BUILDERS:
            raise ValueError(f"unknown parity module {m!r}; registered: {modules()}")
        out.extend(_BUILDERS[m](SHAPES[m][shape_index]))
    if ops is not None:
        known = {c.op for c in out}
        unknown = set(ops) - known
        if unknown:
            raise ValueError(f"no parity cases for {sorted(unknown)}; known: {sorted(known)}")
        out = [c for c in out if c.op in ops]
    return out


def _course(forward, backward, grad_names, n_out=1):
    """Adapts a course-style (forward -> (*out, cache), backward) pair to `compare`."""

    def ref(inputs, douts):
        *outs, cache = forward(**inputs)
        grads = backward(*douts[:n_out], cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return outs, dict(zip(grad_names, grads))

    return ref


@register("rnn")
def _rnn_cases(d):
    from torchref import rnn_layers as ref

    from tfcs231n.captioning import ops

    N, T, D, H, V = d["N"], d["T"], d["D"], d["H"], d["V"]
    wx, wh = 1 / math.sqrt(D), 1 / math.sqrt(H)
    shape = f"N{N}T{T}D{D}H{H}"
    step = dict(x=normal((N, D)), prev_h=normal((N, H)))
    seq = dict(x=normal((N, T, D)), h0=normal((N, H)))
    rnn_w = dict(Wx=normal((D, H), wx), Wh=normal((H, H), wh), b=normal((H,)))
    lstm_w = dict(Wx=normal((D, 4 * H), wx), Wh=normal((H, 4 * H), wh), b=normal((4 * H,)))
    rnn_grads = ("x", "prev_h", "Wx", "Wh", "b")
    seq_grads = ("x", "h0", "Wx", "Wh", "b")

    def softmax_ref(inputs, douts):
        loss, dx = ref.temporal_softmax_loss(inputs["x"], inputs["y"], inputs["mask"])
        return loss, {"x": dx * douts[0]}

    def softmax(scale):
        return dict(x=normal((N, T, V), scale), y=integers((N, T), 0, V),
                    mask=boolean((N, T), 0.7))
    return [
        Case("rnn", f"rnn_step_forward[{shape}]", ops.rnn_step,
             _course(ref.rnn_step_forward, ref.rnn_step_backward, rnn_grads),
             {**step, **rnn_w}, rnn_grads, ("next_h",)),
        Case("rnn", f"rnn_forward[{shape}]", ops.rnn,
             _course(ref.rnn_forward, ref.rnn_backward, seq_grads),
             {**seq, **rnn_w}, seq_grads, ("h",)),
        Case("rnn", f"lstm_step_forward[{shape}]", ops.lstm_step,
             _course(ref.lstm_step_forward, ref.lstm_step_backward,
                     ("x", "prev_h", "prev_c", "Wx", "Wh", "b"), n_out=2),
             {**step, "prev_c": normal((N, H)), **lstm_w},
             ("x", "prev_h", "prev_c", "Wx", "Wh", "b"), ("next_h", "next_c")),
        Case("rnn", f"lstm_forward[{shape}]", ops.lstm,
             _course(ref.lstm_forward, ref.lstm_backward, seq_grads),
             {**seq, **lstm_w}, seq_grads, ("h",)),
        Case("rnn", f"word_embedding_forward[N{N}T{T}V{V}D{D}]", ops.word_embedding,
             _course(ref.word_embedding_forward, ref.word_embedding_backward, ("W",)),
             dict(x=integers((N, T), 0, V), W=normal((V, D))), ("W",)),
        Case("rnn", f"temporal_affine_forward[N{N}T{T}D{D}M{V}]", ops.temporal_affine,
             _course(ref.temporal_affine_forward, ref.temporal_affine_backward,
                     ("x", "w", "b")),
             dict(x=normal((N, T, D)), w=normal((D, V), wx), b=normal((V,))), ("x", "w", "b")),
        Case("rnn", f"temporal_softmax_loss[N{N}T{T}V{V}]", ops.temporal_cross_entropy,
             softmax_ref, softmax(1.0), ("x",), ("loss",)),
        # Scores of 1e4 overflow a naive exp; both sides must stay finite and agree.
        Case("rnn", f"temporal_softmax_loss[N{N}T{T}V{V},scores*1e4]",
             ops.temporal_cross_entropy, softmax_ref, softmax(1e4), ("x",), ("loss",)),
    ]


@register("captioning")
def _captioning_cases(d):
    from torchref import captioning as ref

    from tfcs231n.captioning import model as cap

    N, T, D, W, H, V = d["N"], d["T"], d["D"], d["W"], d["H"], d["V"]
    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    out = []
    for cell, gates in (("rnn", 1), ("lstm", 4)):
        params = dict(
            W_proj=normal((D, H), 1 / math.sqrt(D)), b_proj=normal((H,)),
            W_embed=normal((V, W)), Wx=normal((W, gates * H), 1 / math.sqrt(W)),
            Wh=normal((H, gates * H), 1 / math.sqrt(H)), b=normal((gates * H,)),
            W_vocab=normal((H, V), 1 / math.sqrt(H)), b_vocab=normal((V,)),
        )

        def tf_fn(features, captions, _cell=cell, **p):
            return cap.captioning_loss(p, features, captions, null=0, cell_type=_cell)

        def ref_fn(inputs, douts, _cell=cell):
            model = ref.NumpyCaptioningRNN(vocab, D, W, H, _cell,
                                           dtype=inputs["features"].dtype.type)
            model.params = {k: inputs[k] for k in model.params}
            loss, grads = model.loss(inputs["features"], inputs["captions"])
            return loss, {k: g * douts[0] for k, g in grads.items()}

        # Captions include id 0 (<NULL>), so the mask is exercised.
        specs = dict(features=normal((N, D)), captions=integers((N, T + 1), 0, V), **params)
        out.append(Case("captioning", f"captioning_loss[{cell},N{N}T{T}D{D}W{W}H{H}V{V}]",
                        tf_fn, ref_fn, specs, tuple(params), ("loss",)))
    return out


def _image_model_case(module, name, make_keras, make_torch, shape, output):
    """A Case for an NHWC image classifier built in both frameworks from the same weights,
    once per dtype on first use; the PyTorch model gets the same NHWC input permuted."""
    keras_models, torch_models = {}, {}

    def tf_fn(x):
        dtype = x.dtype.name
        if dtype not in keras_models:
            keras_models[dtype] = make_keras(dtype)
        return keras_models[dtype](x, training=False)

    def torch_fn(x):
        if x.dtype not in torch_models:
            torch_models[x.dtype] = make_torch(x.dtype).eval()
        return torch_models[x.dtype](x.permute(0, 3, 1, 2))

    return Case(module, name, tf_fn, parity.torch_reference(torch_fn),
                dict(x=normal(shape)), ("x",), (output,))


@register("squeezenet")
def _squeezenet_cases(d):
    from torchref import squeezenet as ref

    from tfcs231n.visualization.squeezenet import SqueezeNet

    N, H, W, C = d["N"], d["H"], d["W"], d["C"]
    state = ref.random_state_dict(C, seed=0)

    def make_torch(dtype):
        model = ref.SqueezeNet(C).to(dtype)
        ref.load_arrays(model, state)
        return model

    return [_image_model_case(
        "squeezenet", f"squeezenet1_1[N{N}H{H}W{W}C{C}]",
        lambda dtype: SqueezeNet(C, weights=state, dtype=dtype), make_torch, (N, H, W, 3),
        "scores")]


@register("style_transfer")
def _style_transfer_cases(d):
    from torchref import style_transfer as ref

    from tfcs231n.style import losses as style_losses
    N, H, W, C, H2, W2, C2 = (d[k] for k in ("N", "H", "W", "C", "H2", "W2", "C2"))
    shape = f"N{N}H{H}W{W}C{C}"

    def nchw(t):
        return t.permute(0, 3, 1, 2)

    out = []
    for reduction in ("sum", "mean"):
        out.append(Case(
            "style_transfer", f"content_loss[{reduction},{shape}]",
            lambda cur, orig, _r=reduction: style_losses.content_loss(0.37, cur, orig, _r),
            parity.torch_reference(lambda cur, orig, _r=reduction: ref.content_loss(
                0.37, nchw(cur), nchw(orig), _r)),
            dict(cur=normal((N, H, W, C)), orig=normal((N, H, W, C))), ("cur", "orig"),
            ("loss",)))
    for norm in ("hwc", "hw", "none"):
        out.append(Case(
            "style_transfer", f"gram_matrix[{norm},{shape}]",
            lambda x, _n=norm: style_losses.gram_matrix(x, _n),
            parity.torch_reference(lambda x, _n=norm: ref.gram_matrix(nchw(x), _n)),
            dict(x=normal((N, H, W, C))), ("x",), ("gram",)))
        for reduction in ("sum", "mean"):
            def tf_style(f0, f1, t0, t1, _n=norm, _r=reduction):
                return style_losses.style_loss({2: f0, 5: f1}, (2, 5), [t0, t1], (3.0, 0.25), _r, _n)

            def torch_style(f0, f1, t0, t1, _n=norm, _r=reduction):
                return ref.style_loss({2: nchw(f0), 5: nchw(f1)}, (2, 5), [t0, t1],
                                      (3.0, 0.25), _r, _n)

            out.append(Case(
                "style_transfer", f"style_loss[{norm},{reduction},{shape}]", tf_style,
                parity.torch_reference(torch_style),
                dict(f0=normal((N, H, W, C)), f1=normal((N, H2, W2, C2)),
                     t0=normal((N, C, C), 0.3), t1=normal((N, C2, C2), 0.3)),
                ("f0", "f1", "t0", "t1"), ("loss",)))
    for kind in ("squared_sum", "abs_mean", "abs_sum"):
        out.append(Case(
            "style_transfer", f"tv_loss[{kind},{shape}]",
            lambda img, _k=kind: style_losses.tv_loss(img, 0.6, _k),
            parity.torch_reference(lambda img, _k=kind: ref.tv_loss(nchw(img), 0.6, _k)),
            dict(img=normal((N, H, W, 3))), ("img",), ("loss",)))
    return out


@register("resnet18")
def _resnet18_cases(d):
    from torchref import resnet as ref

    from tfcs231n.vision.resnet import ResNet18

    N, H, W, C, width = d["N"], d["H"], d["W"], d["C"], d["width"]
    # Random running means and variances too, so inference-mode batch norm is exercised.
    state = ref.random_state_dict(C, width, seed=0)
    return [_image_model_case(
        "resnet18", f"resnet18[N{N}H{H}W{W}C{C}w{width}]",
        lambda dtype: ResNet18(C, width, weights=state, dtype=dtype),
        lambda dtype: ref.load_arrays(ref.ResNet18(C, width).to(dtype), state),
        (N, H, W, 3), "logits")]


@register("gan")
def _gan_cases(d):
    from torchref import gan as ref

    from tfcs231n.gan import models as gan

    from tfcs231n.gan import losses as gan_losses
    N = d["N"]
    # Logits of scale 5 reach |s| ~ 20, where an unstable log(sigmoid(s)) would lose digits.
    two = dict(logits_real=normal((N, 1), 5.0), logits_fake=normal((N, 1), 5.0))
    one = dict(logits_fake=normal((N, 1), 5.0))
    pairs = [
        ("discriminator_loss", gan_losses.discriminator_loss, ref.discriminator_loss, two),
        ("generator_loss", gan_losses.generator_loss, ref.generator_loss, one),
        ("ls_discriminator_loss", gan_losses.ls_discriminator_loss, ref.ls_discriminator_loss, two),
        ("ls_generator_loss", gan_losses.ls_generator_loss, ref.ls_generator_loss, one),
    ]
    out = []
    for name, tf_fn, ref_fn, specs in pairs:
        # The loss functions take positional logits; the parity engine passes keywords.
        tf_call = (lambda f: lambda **kw: f(*kw.values()))(tf_fn)
        ref_call = (lambda f: lambda **kw: f(*kw.values()))(ref_fn)
        out.append(Case("gan", f"{name}[N{N}]", tf_call, parity.torch_reference(ref_call),
                        specs, tuple(specs), ("loss",)))
    out.append(Case("gan", f"leaky_relu[N{N}]", lambda x: gan.leaky_relu(x),
                    parity.torch_reference(lambda x: torch_leaky_relu(x)),
                    dict(x=normal((N, 17))), ("x",), ("out",)))
    out.append(_wgan_gp_case(N))
    return out


def _wgan_gp_case(N):
    """WGAN-GP's critic loss on the course's DC critic, weights copied from PyTorch's: the
    loss, its gradient penalty, and the penalty's gradient for every critic weight.

    That weight gradient is the loss's second-order term: it flows through the penalty's
    input gradient (nested tapes; ``create_graph=True``). The whole loss's weight gradient
    is checked in tests/test_gan_parity.py, where the elements that the score term makes
    cancel exactly (a bias whose unit has the same sign on every sample) are judged as
    sums; input gradients are not compared here: the critic is piecewise linear, so the
    penalty's gradient with respect to the images is zero almost everywhere. The critics
    are built once per dtype on first use.
    """
    import tensorflow as tf
    from torchref import gan as ref

    from tfcs231n.gan import losses as gan_losses
    from tfcs231n.gan import models as gan
    from tfcs231n.gan import weights as gan_weights

    state = _torch_state(ref.dc_critic, seed=0)
    models = {}  # dtype name -> (Keras critic, PyTorch critic, a Keras scratch copy)

    def built(dtype):
        if dtype not in models:
            import torch

            keras_critic = gan_weights.load_torch_state(gan.dc_critic(dtype=dtype), state)
            torch_critic = ref.dc_critic().to(getattr(torch, dtype))
            torch_critic.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
            models[dtype] = keras_critic, torch_critic, gan.dc_critic(dtype=dtype)
        return models[dtype]

    def tf_fn(real, fake, epsilon):
        critic = built(real.dtype.name)[0]
        with tf.GradientTape() as tape:
            penalty = gan_losses.gradient_penalty(critic, real, fake, epsilon)
        # None: a weight the penalty does not reach (the last bias; with the float64
        # LeakyReLU, the biases before one, whose input gradient ignores them).
        grads = [tf.zeros_like(w) if g is None else g for w, g in
                 zip(critic.trainable_weights, tape.gradient(penalty, critic.trainable_weights))]
        loss = gan_losses.wgan_gp_critic_loss(critic, real, fake, 10.0, epsilon)
        return (loss, penalty, *grads)

    def ref_fn(inputs, douts):
        import torch

        _, critic, scratch = built(inputs["real"].dtype.name)
        real, fake, epsilon = (torch.from_numpy(inputs[k]) for k in ("real", "fake", "epsilon"))
        penalty = ref.gradient_penalty(critic, real, fake, epsilon)
        params = list(critic.parameters())
        grads = torch.autograd.grad(penalty, params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        # Into the Keras layout (transposed kernels, the Flatten's row order) by loading
        # them as a state dict into the scratch critic.
        names = [k for k, _ in critic.named_parameters()]
        gan_weights.load_torch_state(scratch, {k: g.numpy() for k, g in zip(names, grads)})
        loss = ref.wgan_gp_critic_loss(critic, real, fake, 10.0, epsilon)
        return ([loss.detach().numpy(), penalty.detach().numpy()]
                + [w.numpy() for w in scratch.trainable_weights]), {}

    # The critic's weights in PyTorch's names (Keras's order is the same, layer by layer).
    names = ["loss", "penalty"] + [f"dpenalty/d{k}" for k in state]
    # Images at the generator's tanh range; epsilon one per sample in [0, 1).
    specs = dict(real=uniform((N, 784), -1.0, 1.0), fake=uniform((N, 784), -1.0, 1.0),
                 epsilon=uniform((N, 1), 0.0, 1.0))
    return Case("gan", f"wgan_gp_critic_loss[N{N}]", tf_fn, ref_fn, specs, (), tuple(names))


def _torch_state(make, seed):
    """A PyTorch model's initial state dict as float64 NumPy arrays (seeded)."""
    import torch

    torch.manual_seed(seed)
    return {k: v.detach().double().numpy().copy() for k, v in make().state_dict().items()}


def torch_leaky_relu(x):
    import torch

    return torch.nn.functional.leaky_relu(x, 0.01)
