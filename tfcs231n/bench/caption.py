"""`tfcs231n bench caption`: one LSTM captioner training step, TF against PyTorch.

PyTorch three ways: the reference (`torchref`, its recurrence a Python loop of matmuls),
the same module under `torch.compile`, and `NNCaptioner`, the model as a PyTorch user
writes it, on `torch.nn.LSTM` (one fused kernel per sequence), with the same weights.
"""

import numpy as np

# torch.nn.LSTM stacks its gates i, f, g, o; the course's i, f, o, g. Swapping the last two
# blocks maps either order onto the other.
_GATE_BLOCKS = {"lstm": [0, 1, 3, 2], "rnn": [0]}


def _swap_gates(a, cell_type, axis=-1):
    """Reorders the gate blocks of `a` along `axis` between the course's and torch's order."""
    blocks = np.split(np.asarray(a), len(_GATE_BLOCKS[cell_type]), axis=axis)
    return np.concatenate([blocks[i] for i in _GATE_BLOCKS[cell_type]], axis=axis)


def torch_rnn_weights(Wx, Wh, b, cell_type):
    """The course's recurrence weights as torch.nn.LSTM / torch.nn.RNN's layer-0 parameters.

    Args:
        Wx: (W, G*H), Wh: (H, G*H), b: (G*H,) in the course's (in, out) layout and gate
            order (i, f, o, g for "lstm"; G = 1 for "rnn").

    Returns:
        {"weight_ih_l0": (G*H, W), "weight_hh_l0": (G*H, H), "bias_ih_l0": (G*H,),
        "bias_hh_l0": (G*H,)}: torch adds its two biases, so the course's b goes into one
        and zeros into the other.
    """
    bias = _swap_gates(b, cell_type)
    return {"weight_ih_l0": _swap_gates(Wx, cell_type).T,
            "weight_hh_l0": _swap_gates(Wh, cell_type).T,
            "bias_ih_l0": bias, "bias_hh_l0": np.zeros_like(bias)}


def course_rnn_grads(module, cell_type):
    """The gradients of a torch.nn.LSTM / RNN `module` in the course's layout and gate order:
    {"Wx", "Wh", "b"} (b's is the sum of torch's two bias gradients, which are equal)."""
    g = {name: p.grad.detach().numpy() for name, p in module.named_parameters()}
    return {"Wx": _swap_gates(g["weight_ih_l0"].T, cell_type),
            "Wh": _swap_gates(g["weight_hh_l0"].T, cell_type),
            "b": _swap_gates(g["bias_ih_l0"], cell_type)}


def nn_captioner(params, cell_type, null, dtype=None):
    """The course's captioner built from torch.nn layers, as a PyTorch user writes it.

    Args:
        params: the course's parameters (`torchref.captioning` layout), arrays or tensors.
        cell_type: "lstm" or "rnn".
        null: index of '<NULL>', whose targets the loss ignores.
        dtype: torch dtype of the parameters (default: float32).

    Returns:
        A torch.nn.Module whose `loss(features (N, D), captions (N, T+1) int64)` is the
        course's loss, summed over words and divided by N.
    """
    import torch

    class NNCaptioner(torch.nn.Module):
        def __init__(self):
            super().__init__()
            (D, H), (V, W) = params["W_proj"].shape, params["W_embed"].shape
            self.proj = torch.nn.Linear(D, H)
            self.embed = torch.nn.Embedding(V, W)
            rnn = torch.nn.LSTM if cell_type == "lstm" else torch.nn.RNN
            self.rnn = rnn(W, H, batch_first=True)
            self.vocab = torch.nn.Linear(H, V)
            weights = {"proj.weight": np.asarray(params["W_proj"]).T,
                       "proj.bias": params["b_proj"], "embed.weight": params["W_embed"],
                       "vocab.weight": np.asarray(params["W_vocab"]).T,
                       "vocab.bias": params["b_vocab"],
                       **{f"rnn.{k}": v for k, v in torch_rnn_weights(
                           params["Wx"], params["Wh"], params["b"], cell_type).items()}}
            self.to(dtype or torch.float32)  # first: loading casts to the layers' dtype
            self.load_state_dict({k: torch.as_tensor(np.ascontiguousarray(v))
                                  for k, v in weights.items()})

        def loss(self, features, captions):
            h0 = self.proj(features)[None]  # (1, N, H)
            state = (h0, torch.zeros_like(h0)) if cell_type == "lstm" else h0
            out, _ = self.rnn(self.embed(captions[:, :-1]), state)  # (N, T, H)
            scores = self.vocab(out)  # (N, T, V)
            total = torch.nn.functional.cross_entropy(
                scores.reshape(-1, scores.shape[-1]), captions[:, 1:].reshape(-1),
                ignore_index=null, reduction="sum")
            return total / features.shape[0]

    return NNCaptioner()


def floor_specs(N, T, D, W, H, V, gates=4):
    """The matmuls of one training step, forward and backward (`tfcs231n.bench.floor`)."""
    from tfcs231n.bench.floor import MatMul

    return [MatMul(N, D, H, input_grad=0),  # features -> h0; the features are data
            MatMul(N * T, W, gates * H),  # word vectors, every step at once
            MatMul(N, H, gates * H, forward=T, input_grad=T, weight_grad=0),  # one per step
            MatMul(N * T, H, gates * H, forward=0, input_grad=0),  # Wh's gradient, all steps
            MatMul(N * T, H, V)]  # hidden states -> word scores


def workload(N=50, T=16, D=512, W=256, H=512, V=1004):
    """One Adam training step of the course's LSTM captioner.

    N captions of T steps (T + 1 tokens), features D, word vectors W, hidden H, vocabulary
    V; the defaults are the course's.

    Returns:
        (flops per step, {variant: zero-argument callable that runs one step}).
    """
    import copy

    import tensorflow as tf
    import torch

    from torchref import captioning as ref
    from tfcs231n.bench import floor
    from tfcs231n.captioning.model import CaptioningRNN
    from tfcs231n.captioning.solver import train_step
    from tfcs231n.parity import engine as parity

    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    rng = np.random.default_rng(0)
    features = rng.standard_normal((N, D)).astype(np.float32)
    captions = rng.integers(3, V, (N, T + 1)).astype(np.int32)
    captions[:, 0] = 1

    model = CaptioningRNN(vocab, D, W, H, cell_type="lstm", seed=0)
    tf_features, tf_captions = tf.constant(features), tf.constant(captions)

    def tf_variant(compile_kind):
        import keras

        optimizer = keras.optimizers.Adam(1e-4)
        optimizer.build(model.trainable_variables)

        def step():
            return train_step(model, optimizer, tf_features, tf_captions)

        if compile_kind == "function":
            step = tf.function(step)
        elif compile_kind == "xla":
            step = tf.function(step, jit_compile=True)
        return lambda: step().numpy()

    params = {k: v.numpy() for k, v in model.params.items()}
    torch_model = ref.TorchCaptioningRNN(vocab, D, W, H, cell_type="lstm", dtype=torch.float32)
    torch_model.load_params(params)
    t_features, t_captions = torch.from_numpy(features), torch.from_numpy(captions).long()

    def torch_variant(module, loss_fn):
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-4)

        def step():
            optimizer.zero_grad()
            loss = loss_fn(t_features, t_captions)
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    compiled = copy.deepcopy(torch_model)
    nn_model = nn_captioner(params, "lstm", vocab["<NULL>"])
    with torch.no_grad():  # checked before anything is timed: the same loss, or no timing
        row = parity.compare_arrays("nn.LSTM loss", nn_model.loss(t_features, t_captions),
                                    torch_model.loss(t_features, t_captions),
                                    parity.TOLERANCES["float32"])
    if row.ok:
        nn_step = torch_variant(nn_model, nn_model.loss)
    else:
        def nn_step():
            raise RuntimeError(f"pytorch-nn's loss differs from the reference's: {row}")

    specs = floor_specs(N, T, D, W, H, V)
    forward = 2 * (N * D * H + N * T * (W * 4 * H + H * 4 * H + H * V))  # the matmuls
    flops = 3 * forward  # backward costs about twice the forward
    return flops, {
        "tf-eager": tf_variant("eager"),
        "tf-function": tf_variant("function"),
        "tf-xla": tf_variant("xla"),
        "pytorch": torch_variant(torch_model, torch_model.loss),
        "pytorch-compiled": torch_variant(compiled, torch.compile(compiled.loss)),
        "pytorch-nn": nn_step,
        "floor-tf": floor.tf_floor(specs),
        "floor-pytorch": floor.torch_floor(specs),
    }
