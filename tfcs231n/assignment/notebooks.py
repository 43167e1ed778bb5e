"""The handout's notebooks (nbgrader-ready) and README.

Each notebook is small on purpose: read-only cells that explain and import, one answer cell
to try things in, and a few graded cells per section that call the student's `cs231n`
module and apply the course's own checks (its published values, its sanity checks, its
parameter counts). The thorough per-function grading is `tfcs231n assignment check`.
"""

import json

from tfcs231n.assignment.sections import PACKAGE, SECTIONS

_SETUP = """import importlib
import numpy as np
from tfcs231n.parity.course_values import *   # the course notebooks' published answers
from tfcs231n.parity.engine import rel_error  # the course's definition


def matches_published(x, published, decimals=8):
    # equal to a value the course printed rounded to `decimals` places
    return np.max(np.abs(np.asarray(x, np.float64) - published)) <= 0.5 * 10.0 ** -decimals
"""

# Per section: (module to import, a first try in the answer cell, [(heading, [grade cells])]).
_CELLS = {
    "captioning": ("rnn_layers", """\
next_h, cache = rnn_step_forward(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((3, 4)),
                                 np.zeros((4, 4)), np.zeros(4))
print(next_h.shape)""", [
        ("Vanilla RNN", ["""\
inputs = make_inputs(RNN_STEP_FORWARD)
next_h, _ = rnn_step_forward(*inputs.values())
assert matches_published(next_h, RNN_STEP_FORWARD["expected"]["next_h"])""", """\
inputs = make_inputs(RNN_FORWARD)
h, _ = rnn_forward(*inputs.values())
assert matches_published(h, RNN_FORWARD["expected"]["h"])"""]),
        ("Word embedding", ["""\
inputs = make_inputs(WORD_EMBEDDING_FORWARD)
out, _ = word_embedding_forward(*inputs.values())
assert matches_published(out, WORD_EMBEDDING_FORWARD["expected"]["out"])"""]),
        ("Temporal softmax loss", ["""\
# The course's sanity check: near-uniform scores give log(V) per counted step.
np.random.seed(231)
for N, T, V, p, want in [(100, 1, 10, 1.0, 2.3), (100, 10, 10, 1.0, 23), (5000, 10, 10, 0.1, 2.3)]:
    x = 0.001 * np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) <= p
    loss, _ = temporal_softmax_loss(x, y, mask)
    assert abs(loss - want) < 0.05 * want, (N, T, V, p, loss)"""]),
        ("LSTM", ["""\
inputs = make_inputs(LSTM_STEP_FORWARD)
next_h, next_c, _ = lstm_step_forward(*inputs.values())
assert matches_published(next_h, LSTM_STEP_FORWARD["expected"]["next_h"])
assert matches_published(next_c, LSTM_STEP_FORWARD["expected"]["next_c"])""", """\
inputs = make_inputs(LSTM_FORWARD)
h, _ = lstm_forward(*inputs.values())
assert matches_published(h, LSTM_FORWARD["expected"]["h"])"""]),
        ("Captioning model", ["""\
from cs231n.classifiers import rnn as captioning
importlib.reload(captioning)
for case in (CAPTIONING_RNN_LOSS, CAPTIONING_LSTM_LOSS):
    inputs = make_inputs(case)
    model = captioning.CaptioningRNN({'<NULL>': 0, 'cat': 2, 'dog': 3}, input_dim=20,
                                     wordvec_dim=30, hidden_dim=40,
                                     cell_type=case["cell_type"], dtype=np.float64)
    for k in model.params:
        model.params[k] = inputs[k]
    loss, grads = model.loss(inputs["features"], inputs["captions"])
    assert rel_error(loss, case["expected"]["loss"]) < 1e-9, (case["cell_type"], loss)"""]),
    ]),
    "visualization": ("net_visualization_tensorflow", """\
print(compute_saliency_maps(X, y, model).shape)""", [
        ("Saliency maps", ["""\
# A linear model: the saliency of class y is max over channels of |W[:, y]|.
saliency = compute_saliency_maps(X, y, model)
want = np.abs(W[:, y].T.reshape(X.shape)).max(axis=-1)
assert rel_error(saliency, want) < 1e-5"""]),
        ("Fooling images", ["""\
X_fooling = make_fooling_image(X[:1], 4, model)
assert np.shape(X_fooling) == (1, 4, 5, 3)
assert np.argmax(model(X_fooling)[0]) == 4"""]),
        ("Class visualization", ["""\
# Ascent on s_y(X) - l2_reg * ||X||^2 moves X by lr * (W[:, y] - 2 l2_reg X).
X_new = class_visualization_update_step(X[:1].copy(), model, 3, 0.1, 0.5)
want = X[:1] + 0.5 * (W[:, 3].reshape(X[:1].shape) - 2 * 0.1 * X[:1])
assert rel_error(X_new, want) < 1e-5"""]),
    ]),
    "style": ("style_transfer_tensorflow", """\
print(gram_matrix(tf.ones((1, 2, 3, 4))).shape)""", [
        ("Content loss", ["""\
rng = np.random.default_rng(0)
a, b = rng.standard_normal((1, 3, 3, 2)), rng.standard_normal((1, 3, 3, 2))
assert rel_error(content_loss(6e-2, a, b), 6e-2 * np.sum((a - b) ** 2)) < 1e-9"""]),
        ("Style loss", ["""\
feats = tf.constant(np.arange(24, dtype=np.float64).reshape(1, 2, 3, 4))
flat = np.arange(24, dtype=np.float64).reshape(6, 4)
assert rel_error(gram_matrix(feats), flat.T @ flat / 24) < 1e-9""", """\
rng = np.random.default_rng(1)
a, b = rng.standard_normal((1, 3, 3, 2)), rng.standard_normal((1, 3, 3, 2))
target = gram_matrix(tf.constant(b))
ga = a.reshape(9, 2).T @ a.reshape(9, 2) / 18
got = style_loss([tf.constant(a)], [0], [target], [2.0])
assert rel_error(got, 2.0 * np.sum((ga - np.asarray(target)) ** 2)) < 1e-9"""]),
        ("Total-variation loss", ["""\
# A checkerboard: every one of the 2 * 4 * 3 neighbour pairs differs by 1.
board = (np.indices((4, 4)).sum(axis=0) % 2).astype(np.float64)[None, :, :, None]
assert rel_error(tv_loss(tf.constant(board), 1.0), 2 * 4 * 3) < 1e-12"""]),
    ]),
    "gan": ("gan_tf", """\
print(sample_noise(2, 3))""", [
        ("Random noise", ["""\
z = np.asarray(sample_noise(3, 4))
assert z.shape == (3, 4) and np.all((z >= -1) & (z <= 1)) and len(np.unique(z)) > 1"""]),
        ("Discriminator", ["""\
def count(model):
    return int(sum(np.prod(v.shape) for v in model.weights))

assert count(discriminator()) == 267009  # the course's test_discriminator answer"""]),
        ("Generator", ["""\
assert count(generator(4)) == 1858320  # the course's test_generator answer"""]),
        ("GAN losses", ["""\
logits = {k: np.asarray(v, np.float64) for k, v in GAN_LOSSES["inputs"].items()}
want = GAN_LOSSES["expected"]
assert rel_error(discriminator_loss(logits["logits_real"], logits["logits_fake"]), want["d_loss"]) < 2e-9
assert rel_error(generator_loss(logits["logits_fake"]), want["g_loss"]) < 2e-9"""]),
        ("Least-squares GAN", ["""\
assert rel_error(ls_discriminator_loss(logits["logits_real"], logits["logits_fake"]), want["ls_d_loss"]) < 2e-9
assert rel_error(ls_generator_loss(logits["logits_fake"]), want["ls_g_loss"]) < 2e-9"""]),
        ("Deep convolutional GAN", ["""\
assert count(dc_discriminator()) == 1102721
assert count(dc_generator(4)) == 6595521"""]),
    ]),
}

# What the visualization notebook sets up: a float64 linear model with a closed-form gradient.
_VIS_SETUP = """
import keras
import tensorflow as tf
rng = np.random.default_rng(0)
X = rng.standard_normal((2, 4, 5, 3))
y = np.array([1, 4])
W = rng.standard_normal((60, 6))
model = keras.Sequential([keras.Input((4, 5, 3), dtype="float64"), keras.layers.Flatten(dtype="float64"),
                          keras.layers.Dense(6, use_bias=False, dtype="float64")])
model.layers[-1].set_weights([W])
"""


def _cell(kind, source, grade_id, *, grade=False, solution=False, points=0):
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution,
            "schema_version": 3, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    cell = {"cell_type": kind, "id": grade_id, "metadata": {"nbgrader": meta},
            "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def cells(section):
    """The notebook cells of one section (nbformat 4 dicts with nbgrader metadata)."""
    info = SECTIONS[section]
    module, first_try, groups = _CELLS[section]
    modules = sorted({f.module for f in info.functions})
    intro = (f"# {info.title}\n\nWrite the functions marked `TODO` in "
             + ", ".join(f"`{PACKAGE}/{m}`" for m in modules)
             + ". The graded cells below call them and apply the course's checks; run "
             "`tfcs231n assignment check .` for a per-function report against the "
             "reference.")
    setup = (_SETUP + ("\nimport tensorflow as tf\n" if section == "style" else "")
             + (_VIS_SETUP if section == "visualization" else "")
             + f"\nimport {PACKAGE}.{module} as student\nimportlib.reload(student)\n"
             f"from {PACKAGE}.{module} import *\n")
    out = [_cell("markdown", intro, f"{section}-intro"),
           _cell("code", setup, f"{section}-setup"),
           _cell("markdown", "Try your code here (not graded).", f"{section}-try-intro"),
           _cell("code", f"### BEGIN SOLUTION\n{first_try}\n### END SOLUTION",
                 f"{section}-try", solution=True)]
    for heading, checks in groups:
        slug = heading.lower().replace(" ", "-")
        out.append(_cell("markdown", f"## {heading}", f"{section}-{slug}"))
        for i, source in enumerate(checks):
            out.append(_cell("code", source, f"{section}-{slug}-{i}", grade=True, points=1))
    return out


def write(path, section):
    """Writes the section's notebook to `path`."""
    notebook = {
        "cells": cells(section),
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")


def readme(sections):
    """The student's README for the given sections."""
    rows = "\n".join(
        f"| {SECTIONS[s].title} | "
        + ", ".join(sorted({f"`{PACKAGE}/{f.module}`" for f in SECTIONS[s].functions}))
        + f" | `{SECTIONS[s].notebook}` |" for s in sections)
    names = "\n".join(f"- `{f.name}` ({SECTIONS[s].notebook}, \"{f.heading}\")"
                      for s in sections for f in SECTIONS[s].functions)
    return f"""# CS231n assignment 3, in TensorFlow

You write the functions marked `TODO` in the `{PACKAGE}` package (each raises
`NotImplementedError` until you do); the notebooks call them and check the results.
Needs `pip install tfcs231n[reference]` (TensorFlow, and PyTorch for the grader's reference).

| section | you edit | notebook |
|---|---|---|
{rows}

Check your work at any time, one function or all, from this directory:

```bash
tfcs231n assignment check .                          # every function
tfcs231n assignment check . --function lstm_step_forward
```

Each function is run on several random shapes in float64 against an independent reference,
outputs and gradients; a failure names the first tensor that differs, its worst element
and both values, and a likely cause when the mistake is a known one.

The functions you write:

{names}
"""
