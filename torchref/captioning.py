"""Reference image-captioning model of CS231n assignment 3 (the course's CaptioningRNN).

Two independent implementations of the same model, for checking the TensorFlow one:

* `NumpyCaptioningRNN`: NumPy, built from `torchref.rnn_layers`, backward written out.
* `TorchCaptioningRNN`: PyTorch, own recurrence in torch ops, gradients from autograd.

Both hold the course's parameters under the course's names, weights laid out (in, out):

    W_proj (D, H)   b_proj (H,)     image feature -> initial hidden state
    W_embed (V, W)                  word vectors
    Wx (W, G*H)     Wh (H, G*H)     b (G*H,)   recurrence; G = 1 (rnn) or 4 (lstm, i,f,o,g)
    W_vocab (H, V)  b_vocab (V,)    hidden state -> word scores

Shapes: N batch, T time steps, D image feature size, W word vector size, H hidden size,
V vocabulary size.

Departure from the course in `sample`: once a caption has produced '<END>', every later
position is '<NULL>' (the course keeps writing whatever the model says next).
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from torchref import rnn_layers as rl

SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>")

# Width multiplier of the recurrent weights: the LSTM stacks four gates along the last axis.
_GATES = {"rnn": 1, "lstm": 4}


def _check_args(word_to_idx, cell_type, **dims):
    """Validates constructor arguments; returns the indices of '<NULL>', '<START>', '<END>'."""
    if cell_type not in _GATES:
        raise ValueError(f"cell_type must be one of {sorted(_GATES)}, got {cell_type!r}")
    missing = [token for token in SPECIAL_TOKENS if token not in word_to_idx]
    if missing:
        raise ValueError(f"word_to_idx lacks the special tokens {missing}")
    # Indices address rows of W_embed and columns of W_vocab, so they must be 0..V-1.
    if sorted(word_to_idx.values()) != list(range(len(word_to_idx))):
        raise ValueError(f"word_to_idx must map its {len(word_to_idx)} words onto 0..V-1")
    for name, value in dims.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return tuple(word_to_idx[token] for token in SPECIAL_TOKENS)


def param_shapes(vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type):
    """The course's parameter names and shapes, in the course's (in, out) layout."""
    V, D, W, H, G = vocab_size, input_dim, wordvec_dim, hidden_dim, _GATES[cell_type]
    return {
        "W_proj": (D, H),
        "b_proj": (H,),
        "W_embed": (V, W),
        "Wx": (W, G * H),
        "Wh": (H, G * H),
        "b": (G * H,),
        "W_vocab": (H, V),
        "b_vocab": (V,),
    }


def init_params(shapes, seed=0):
    """The course's initialisation, drawn from ``np.random.default_rng(seed)``; float64.

    Word vectors are randn / 100, other weights randn / sqrt(fan_in), biases zero.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in shapes.items():
        if name.startswith("b"):
            params[name] = np.zeros(shape)
        elif name == "W_embed":
            params[name] = rng.standard_normal(shape) / 100
        else:
            params[name] = rng.standard_normal(shape) / np.sqrt(shape[0])
    return params


# ----------------------------------------------------------------------------- NumPy

# One step of either cell as (x, h, c) -> (h, c); the RNN carries c along untouched so a
# single sampling loop serves both cells.
def _numpy_rnn_step(x, h, c, Wx, Wh, b):
    return rl.rnn_step_forward(x, h, Wx, Wh, b)[0], c


def _numpy_lstm_step(x, h, c, Wx, Wh, b):
    h, c, _ = rl.lstm_step_forward(x, h, c, Wx, Wh, b)
    return h, c


# cell_type -> (sequence forward, sequence backward, single step)
_NUMPY_CELLS = {
    "rnn": (rl.rnn_forward, rl.rnn_backward, _numpy_rnn_step),
    "lstm": (rl.lstm_forward, rl.lstm_backward, _numpy_lstm_step),
}


class NumpyCaptioningRNN:
    """The course's CaptioningRNN in NumPy, with an explicit backward pass.

    Args:
        word_to_idx: dict word -> index, covering 0..V-1 and holding '<NULL>', '<START>'
            and '<END>'.
        input_dim: D, size of an image feature vector.
        wordvec_dim: W, size of a word vector.
        hidden_dim: H, size of the hidden state.
        cell_type: "rnn" or "lstm".
        dtype: floating dtype of the parameters and of all computation.
        seed: seed of the initialisation (see `init_params`).

    Attributes:
        params: dict name -> array, see the module docstring for names and shapes.

    Example:
        >>> model = NumpyCaptioningRNN(word_to_idx, input_dim=20, cell_type="lstm")
        >>> loss, grads = model.loss(features, captions)   # (N, 20), (N, T + 1)
        >>> words = model.sample(features, max_length=16)  # (N, 16)
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float64, seed=0):
        self._null, self._start, self._end = _check_args(
            word_to_idx, cell_type,
            input_dim=input_dim, wordvec_dim=wordvec_dim, hidden_dim=hidden_dim,
        )
        self.word_to_idx = dict(word_to_idx)
        self.cell_type = cell_type
        self.dtype = np.dtype(dtype)
        self._forward, self._backward, self._step = _NUMPY_CELLS[cell_type]
        shapes = param_shapes(len(word_to_idx), input_dim, wordvec_dim, hidden_dim, cell_type)
        self.params = {k: v.astype(self.dtype) for k, v in init_params(shapes, seed).items()}

    def loss(self, features, captions):
        """Training loss and its gradients, exactly as the course computes them.

        The model reads captions[:, :-1] and is scored on predicting captions[:, 1:];
        targets equal to '<NULL>' add nothing. The loss is summed over time and
        averaged over the batch.

        Args:
            features: (N, D) image features.
            captions: (N, T + 1) int word indices, starting with '<START>'.

        Returns:
            loss: scalar.
            grads: dict with the gradient of every entry of `params`, same shapes.
        """
        p = self.params
        features = np.asarray(features, self.dtype)
        captions = np.asarray(captions)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]  # (N, T) each
        mask = captions_out != self._null

        h0 = features @ p["W_proj"] + p["b_proj"]  # (N, H)
        x, embed_cache = rl.word_embedding_forward(captions_in, p["W_embed"])  # (N, T, W)
        h, cell_cache = self._forward(x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T, H)
        scores, affine_cache = rl.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = rl.temporal_softmax_loss(scores, captions_out, mask)  # (N, T, V)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = rl.temporal_affine_backward(
            dscores, affine_cache
        )
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = self._backward(dh, cell_cache)
        grads["W_embed"] = rl.word_embedding_backward(dx, embed_cache)
        grads["W_proj"] = features.T @ dh0  # (D, H)
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads

    def sample(self, features, max_length=30):
        """Greedy captions: feed '<START>', then each step's highest-scoring word.

        Unlike the course, positions after a caption's first '<END>' hold '<NULL>'.

        Args:
            features: (N, D) image features.
            max_length: number of words to generate, T.

        Returns:
            (N, T) int64 word indices; '<START>' is not included.
        """
        p = self.params
        features = np.asarray(features, self.dtype)
        N = features.shape[0]
        h = features @ p["W_proj"] + p["b_proj"]  # (N, H)
        c = np.zeros_like(h)  # LSTM cell state; ignored by the RNN
        word = np.full(N, self._start)
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        done = np.zeros(N, dtype=bool)
        for t in range(max_length):
            h, c = self._step(p["W_embed"][word], h, c, p["Wx"], p["Wh"], p["b"])
            word = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)  # (N,)
            captions[:, t] = np.where(done, self._null, word)
            done |= word == self._end
        return captions


# ----------------------------------------------------------------------------- PyTorch


def _torch_rnn_step(x, h, c, Wx, Wh, b):
    return torch.tanh(x @ Wx + h @ Wh + b), c


def _torch_lstm_step(x, h, c, Wx, Wh, b):
    i, f, o, g = (x @ Wx + h @ Wh + b).chunk(4, dim=1)  # the course's gate order
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


_TORCH_STEPS = {"rnn": _torch_rnn_step, "lstm": _torch_lstm_step}


class TorchCaptioningRNN(torch.nn.Module):
    """The course's CaptioningRNN in PyTorch; autograd supplies the gradients.

    Parameters are `torch.nn.Parameter`s named and shaped as in `NumpyCaptioningRNN`
    (the course's (in, out) layout, not torch.nn.Linear's (out, in)). The recurrence is
    written out step by step rather than using torch.nn.RNN/LSTM, whose gate order
    (i, f, g, o) and doubled biases differ from the course's.

    Args:
        word_to_idx, input_dim, wordvec_dim, hidden_dim, cell_type: as in
            `NumpyCaptioningRNN`.
        dtype: torch floating dtype of the parameters.
        seed: seed of the initialisation; the same seed gives the same values as
            `NumpyCaptioningRNN`.

    Example:
        >>> model = TorchCaptioningRNN(word_to_idx, input_dim=20, cell_type="lstm")
        >>> model.load_params(numpy_model.params)
        >>> model.loss(features, captions).backward()      # (N, 20), (N, T + 1)
        >>> words = model.sample(features, max_length=16)  # (N, 16)
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=torch.float64, seed=0):
        super().__init__()
        self._null, self._start, self._end = _check_args(
            word_to_idx, cell_type,
            input_dim=input_dim, wordvec_dim=wordvec_dim, hidden_dim=hidden_dim,
        )
        self.word_to_idx = dict(word_to_idx)
        self.cell_type = cell_type
        self._step = _TORCH_STEPS[cell_type]
        shapes = param_shapes(len(word_to_idx), input_dim, wordvec_dim, hidden_dim, cell_type)
        for name, value in init_params(shapes, seed).items():
            self.register_parameter(
                name, torch.nn.Parameter(torch.as_tensor(value).to(dtype))
            )

    def load_params(self, params):
        """Copies a dict name -> array or tensor (e.g. `NumpyCaptioningRNN.params`) in.

        Raises:
            ValueError: if a name is missing or unknown, or a shape differs.
        """
        own = dict(self.named_parameters())
        if set(params) != set(own):
            raise ValueError(f"params must have exactly the names {sorted(own)}, "
                             f"got {sorted(params)}")
        with torch.no_grad():
            for name, value in params.items():
                value = torch.as_tensor(value)  # arrays or tensors; copy_ casts the dtype
                if tuple(value.shape) != tuple(own[name].shape):
                    raise ValueError(f"params[{name!r}] has shape {tuple(value.shape)}, "
                                     f"expected {tuple(own[name].shape)}")
                own[name].copy_(value)

    def _as_inputs(self, features, captions=None):
        # Accept NumPy or torch inputs; compute in the parameters' dtype and device.
        features = torch.as_tensor(features, dtype=self.W_proj.dtype, device=self.W_proj.device)
        if captions is None:
            return features
        return features, torch.as_tensor(captions, device=self.W_proj.device).long()

    def loss(self, features, captions):
        """Training loss as in `NumpyCaptioningRNN.loss`, as a scalar tensor.

        Args:
            features: (N, D) image features, array or tensor.
            captions: (N, T + 1) int word indices, starting with '<START>'.

        Returns:
            Scalar tensor; call .backward() for the parameters' gradients.
        """
        features, captions = self._as_inputs(features, captions)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]  # (N, T) each
        h = features @ self.W_proj + self.b_proj  # (N, H)
        c = torch.zeros_like(h)
        x = self.W_embed[captions_in]  # (N, T, W)
        hs = []
        for t in range(x.shape[1]):
            h, c = self._step(x[:, t], h, c, self.Wx, self.Wh, self.b)
            hs.append(h)
        scores = torch.stack(hs, dim=1) @ self.W_vocab + self.b_vocab  # (N, T, V)
        # ignore_index drops the '<NULL>' targets, which is the course's mask.
        total = F.cross_entropy(
            scores.reshape(-1, scores.shape[-1]), captions_out.reshape(-1),
            ignore_index=self._null, reduction="sum",
        )
        return total / features.shape[0]

    @torch.no_grad()
    def sample(self, features, max_length=30):
        """Greedy captions as in `NumpyCaptioningRNN.sample` ('<NULL>' after '<END>').

        Args:
            features: (N, D) image features, array or tensor.
            max_length: number of words to generate, T.

        Returns:
            (N, T) int64 tensor of word indices; '<START>' is not included.
        """
        features = self._as_inputs(features)
        N = features.shape[0]
        h = features @ self.W_proj + self.b_proj  # (N, H)
        c = torch.zeros_like(h)
        word = torch.full((N,), self._start, dtype=torch.long, device=h.device)
        captions = torch.full((N, max_length), self._null, dtype=torch.long, device=h.device)
        done = torch.zeros(N, dtype=torch.bool, device=h.device)
        for t in range(max_length):
            h, c = self._step(self.W_embed[word], h, c, self.Wx, self.Wh, self.b)
            word = torch.argmax(h @ self.W_vocab + self.b_vocab, dim=1)  # (N,)
            captions[:, t] = torch.where(done, self._null, word)
            done |= word == self._end
        return captions


def train_step(model, optimizer, features, captions):
    """One optimisation step of a `TorchCaptioningRNN`; returns the loss as a float."""
    optimizer.zero_grad()
    loss = model.loss(features, captions)
    loss.backward()
    optimizer.step()
    return loss.item()
