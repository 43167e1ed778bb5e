"""The captioning section's checks: `rnn_layers` against `torchref.rnn_layers` (forwards
and their explicit backwards) and `CaptioningRNN` against `torchref.captioning`.

Every check runs seeded float64 inputs of several shapes (an odd batch, a batch of 1, a
single time step) and, where the course published values, those too.
"""

import math

import numpy as np

from tfcs231n.assignment import mistakes
from tfcs231n.assignment.judge import Case, Published
from tfcs231n.parity import course_values as cv
from tfcs231n.parity.engine import torch_reference

SHAPES = [dict(N=3, T=4, D=5, H=6, V=7), dict(N=1, T=9, D=11, H=8, V=13),
          dict(N=5, T=1, D=3, H=10, V=4)]
PUBLISHED = Published(decimals=8)  # the notebooks print arrays to 8 places
PUBLISHED_LOSS = Published(decimals=11)  # and the captioning losses to 11

_OPS = {  # op: (argument names, output names, gradient names, known mistakes, gates)
    "rnn_step": (("x", "prev_h", "Wx", "Wh", "b"), ("next_h",),
                 ("dx", "dprev_h", "dWx", "dWh", "db"), mistakes.RNN_STEP, 1),
    "rnn": (("x", "h0", "Wx", "Wh", "b"), ("h",), ("dx", "dh0", "dWx", "dWh", "db"),
            mistakes.RNN, 1),
    "lstm_step": (("x", "prev_h", "prev_c", "Wx", "Wh", "b"), ("next_h", "next_c"),
                  ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), mistakes.LSTM_STEP, 4),
    "lstm": (("x", "h0", "Wx", "Wh", "b"), ("h",), ("dx", "dh0", "dWx", "dWh", "db"),
             mistakes.LSTM, 4),
    "word_embedding": (("x", "W"), ("out",), ("dW",), {}, 0),
}
_PUBLISHED = {"rnn_step": cv.RNN_STEP_FORWARD, "rnn": cv.RNN_FORWARD,
              "lstm_step": cv.LSTM_STEP_FORWARD, "lstm": cv.LSTM_FORWARD,
              "word_embedding": cv.WORD_EMBEDDING_FORWARD}


def _inputs(op, d, rng):
    N, T, D, H, V = d["N"], d["T"], d["D"], d["H"], d["V"]
    if op == "word_embedding":
        return {"x": rng.integers(0, V, (N, T)), "W": rng.standard_normal((V, D))}
    gates = _OPS[op][4]
    x = {"x": rng.standard_normal((N, D) if op.endswith("step") else (N, T, D))}
    h = {"prev_h" if op.endswith("step") else "h0": rng.standard_normal((N, H))}
    c = {"prev_c": rng.standard_normal((N, H))} if op == "lstm_step" else {}
    w = {"Wx": rng.standard_normal((D, gates * H)) / math.sqrt(D),
         "Wh": rng.standard_normal((H, gates * H)) / math.sqrt(H),
         "b": rng.standard_normal(gates * H)}
    return {**x, **h, **c, **w}


def _label(d):
    return "".join(f"{k}{v}" for k, v in d.items())


def _forward_outputs(fn, inputs, n_out):
    out = fn(*inputs.values())
    return out[:n_out], out[n_out]


def _alternatives(op, inputs, douts, grads):
    """cause -> thunk giving that mistake's outputs (forward) or gradients (backward)."""
    names, outs, grad_names, known, _ = _OPS[op]
    out = {}
    for cause, fn in known.items():
        def wrong(fn=fn):
            values, g = torch_reference(lambda **t: fn(*t.values()))(inputs, douts)
            if grads:
                return {gn: g[n] for gn, n in zip(grad_names, names) if n in g}
            return dict(zip(outs, values))
        out[cause] = wrong
    return out


def forward_cases(op, student):
    """Cases of ``{op}_forward``: seeded shapes, then the course's published values."""
    from torchref import rnn_layers as ref

    names, outs, _, _, _ = _OPS[op]
    ref_fn = getattr(ref, f"{op}_forward")
    for seed, d in enumerate(SHAPES):
        inputs = _inputs(op, d, np.random.default_rng(seed))
        actual, _ = _forward_outputs(student, inputs, len(outs))
        desired, _ = _forward_outputs(ref_fn, inputs, len(outs))
        yield Case(_label(d), dict(zip(outs, actual)), dict(zip(outs, desired)),
                   alternatives=_alternatives(op, inputs, [np.ones(np.shape(o)) for o in desired],
                                              grads=False))
    case = _PUBLISHED[op]
    inputs = cv.make_inputs(case)
    actual, _ = _forward_outputs(student, inputs, len(outs))
    yield Case("course values", dict(zip(outs, actual)),
               {k: np.asarray(v) for k, v in case["expected"].items()}, PUBLISHED)


def backward_cases(op, student_forward, student_backward):
    """Cases of ``{op}_backward``: the student's backward on the student's own cache
    against torchref's backward on its cache, same upstream gradients."""
    from torchref import rnn_layers as ref

    names, outs, grad_names, _, _ = _OPS[op]
    for seed, d in enumerate(SHAPES):
        rng = np.random.default_rng(seed)
        inputs = _inputs(op, d, rng)
        want, cache = _forward_outputs(getattr(ref, f"{op}_forward"), inputs, len(outs))
        douts = [rng.standard_normal(np.shape(o)) for o in want]
        desired = getattr(ref, f"{op}_backward")(*douts, cache)
        try:
            _, student_cache = _forward_outputs(student_forward, inputs, len(outs))
        except NotImplementedError as e:
            raise NotImplementedError(f"needs {op}_forward first ({e})") from e
        actual = student_backward(*douts, student_cache)
        actual, desired = (actual, desired) if len(grad_names) > 1 else ((actual,), (desired,))
        if not isinstance(actual, (tuple, list)) or len(actual) != len(grad_names):
            raise ValueError(f"{op}_backward must return {len(grad_names)} gradients "
                             f"({', '.join(grad_names)})")
        yield Case(_label(d), dict(zip(grad_names, actual)), dict(zip(grad_names, desired)),
                   alternatives=_alternatives(op, inputs, douts, grads=True))


def softmax_cases(student):
    """temporal_softmax_loss: (loss, dx) against torchref, one case with huge scores."""
    from torchref import rnn_layers as ref

    for seed, (d, scale) in enumerate([(SHAPES[0], 1.0), (SHAPES[1], 1.0), (SHAPES[2], 1.0),
                                       (SHAPES[0], 1e4)]):
        rng = np.random.default_rng(seed)
        N, T, V = d["N"], d["T"], d["V"]
        x = scale * rng.standard_normal((N, T, V))
        y, mask = rng.integers(0, V, (N, T)), rng.random((N, T)) < 0.7
        loss, dx = ref.temporal_softmax_loss(x, y, mask)
        got = student(x, y, mask)
        all_steps = ref.temporal_softmax_loss(x, y, np.ones_like(mask))
        yield Case(_label(d) + (f",scores*{scale:g}" if scale != 1 else ""),
                   {"loss": got[0], "dx": got[1]}, {"loss": loss, "dx": dx},
                   alternatives={
                       mistakes.BATCH_SUM: lambda: {"loss": loss * N, "dx": dx * N},
                       "mask ignored: padded steps (mask False) must add nothing":
                           lambda: dict(zip(("loss", "dx"), all_steps)),
                       "averaged over N * T: the course sums over time, averages over N":
                           lambda: {"loss": loss / T, "dx": dx / T}})


# ----------------------------------------------------------------------------- model

_VOCAB_DIMS = [dict(N=3, T=5, D=7, W=4, H=6, V=9), dict(N=1, T=4, D=5, W=6, H=3, V=11)]


def _model_inputs(d, cell, rng):
    D, W, H, V, g = d["D"], d["W"], d["H"], d["V"], 4 if cell == "lstm" else 1
    params = {"W_embed": rng.standard_normal((V, W)),
              "W_proj": rng.standard_normal((D, H)) / math.sqrt(D),
              "b_proj": rng.standard_normal(H),
              "Wx": rng.standard_normal((W, g * H)) / math.sqrt(W),
              "Wh": rng.standard_normal((H, g * H)) / math.sqrt(H),
              "b": rng.standard_normal(g * H),
              "W_vocab": rng.standard_normal((H, V)) / math.sqrt(H),
              "b_vocab": rng.standard_normal(V)}
    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    features = rng.standard_normal((d["N"], D))
    captions = rng.integers(0, V, (d["N"], d["T"] + 1))  # includes <NULL>: the mask counts
    return vocab, params, features, captions


def _models(cls, vocab, d, cell, params):
    from torchref.captioning import NumpyCaptioningRNN

    student = cls(vocab, input_dim=d["D"], wordvec_dim=d["W"], hidden_dim=d["H"],
                  cell_type=cell, dtype=np.float64)
    ref = NumpyCaptioningRNN(vocab, d["D"], d["W"], d["H"], cell, dtype=np.float64)
    for k, v in params.items():
        student.params[k] = v.copy()
    ref.params = {k: v.copy() for k, v in params.items()}
    return student, ref


def _labelled(d, cell):
    return f"{cell},{_label(d)}"


def loss_cases(cls):
    """CaptioningRNN.loss: (loss, every gradient) for both cells, then the published losses."""
    for seed, d in enumerate(_VOCAB_DIMS):
        for cell in ("rnn", "lstm"):
            vocab, params, features, captions = _model_inputs(d, cell, np.random.default_rng(seed))
            student, ref = _models(cls, vocab, d, cell, params)
            loss, grads = student.loss(features, captions)
            want, want_grads = ref.loss(features, captions)
            alternatives = {mistakes.BATCH_SUM: lambda: {
                "loss": want * d["N"], **{f"d{k}": g * d["N"] for k, g in want_grads.items()}}}
            if cell == "lstm":
                def swapped(ref=ref, params=params):
                    ref.params = {k: mistakes.swap_gates(v) if k in ("Wx", "Wh", "b") else v
                                  for k, v in params.items()}
                    l, g = ref.loss(features, captions)
                    return {"loss": l, **{f"d{k}": mistakes.swap_gates(v) if k in ("Wx", "Wh", "b")
                                          else v for k, v in g.items()}}
                alternatives[mistakes.GATE_ORDER] = swapped
            yield Case(_labelled(d, cell),
                       {"loss": loss, **{f"d{k}": v for k, v in grads.items()}},
                       {"loss": want, **{f"d{k}": v for k, v in want_grads.items()}},
                       alternatives=alternatives)
    for case in (cv.CAPTIONING_RNN_LOSS, cv.CAPTIONING_LSTM_LOSS):
        inputs = cv.make_inputs(case)
        model = cls({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=20, wordvec_dim=30,
                    hidden_dim=40, cell_type=case["cell_type"], dtype=np.float64)
        for k in model.params:
            model.params[k] = inputs[k]
        loss, _ = model.loss(inputs["features"], inputs["captions"])
        yield Case(f"course values,{case['cell_type']}", {"loss": loss},
                   {"loss": case["expected"]["loss"]}, PUBLISHED_LOSS)


def sample_cases(cls):
    """CaptioningRNN.sample: greedy word ids up to each caption's first <END> (the course
    keeps writing words after it, tfcs231n's reference writes <NULL>: both are right)."""
    for seed, d in enumerate(_VOCAB_DIMS):
        for cell in ("rnn", "lstm"):
            vocab, params, features, _ = _model_inputs(d, cell, np.random.default_rng(seed))
            student, ref = _models(cls, vocab, d, cell, params)
            got = np.asarray(student.sample(features, max_length=7))
            want = ref.sample(features, max_length=7)
            ends = np.cumsum(want == vocab["<END>"], axis=1)  # <END>s so far, inclusive
            ended = (ends - (want == vocab["<END>"])) > 0  # strictly after the first <END>
            if got.shape == want.shape:
                got = np.where(ended, -1, got)
            yield Case(_labelled(d, cell), {"captions": got},
                       {"captions": np.where(ended, -1, want)})


def cases(name, modules):
    """The cases of one captioning function, given the student's modules by course path."""
    layers = modules.get("rnn_layers.py")
    if name.startswith("CaptioningRNN."):
        cls = modules["classifiers/rnn.py"].CaptioningRNN
        return loss_cases(cls) if name.endswith("loss") else sample_cases(cls)
    if name == "temporal_softmax_loss":
        return softmax_cases(layers.temporal_softmax_loss)
    op, kind = name.rsplit("_", 1)
    if kind == "forward":
        return forward_cases(op, getattr(layers, name))
    return backward_cases(op, getattr(layers, f"{op}_forward"), getattr(layers, name))
