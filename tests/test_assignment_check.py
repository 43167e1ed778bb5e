"""The grader, accepted by mutation: the solution copy passes, the stub copy fails every
function as not implemented, and deliberately wrong solutions are caught and named."""

import json

import pytest

from tfcs231n.assignment import build, check, sections
from tfcs231n.cli import main

# Each mutation: (course module, code appended to it (redefines the function), function,
# a keyword of the likely cause the grader must name).
MUTATIONS = [
    ("rnn_layers.py", '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):  # gates in PyTorch's order
    i, f, g, o = np.split(x @ Wx + prev_h @ Wh + b, 4, axis=1)
    next_c = sigmoid(f) * prev_c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(next_c), next_c, None
''', "lstm_step_forward", "gate order"),
    ("rnn_layers.py", '''
def temporal_softmax_loss(x, y, mask, verbose=False):  # summed over N, not averaged
    shifted = x - x.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = -(np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0] * mask).sum()
    dx = np.exp(log_p)
    n, t = np.indices(y.shape)
    dx[n, t, y] -= 1
    return loss, dx * mask[..., None]
''', "temporal_softmax_loss", "mean over the batch"),
    ("style_transfer_tensorflow.py", '''
import tensorflow as tf

def gram_matrix(features, normalize=True):  # never divided by H * W * C
    flat = tf.reshape(features, (-1, features.shape[-1]))
    return tf.matmul(flat, flat, transpose_a=True)

def tv_loss(img, tv_weight):  # absolute values instead of squares
    return tv_weight * (tf.reduce_sum(tf.abs(img[:, 1:] - img[:, :-1]))
                        + tf.reduce_sum(tf.abs(img[:, :, 1:] - img[:, :, :-1])))
''', "gram_matrix", "not normalised"),
    ("style_transfer_tensorflow.py", "", "tv_loss", "absolute values"),
    ("gan_tf.py", '''
import keras
import tensorflow as tf

def leaky_relu(x, alpha=0.01):  # the slope of a common typo
    return tf.maximum(x, 0.1 * x)

def generator(noise_dim=NOISE_DIM, seed=None):  # no tanh at the end
    return keras.Sequential([keras.Input((noise_dim,)),
                             keras.layers.Dense(1024, activation="relu"),
                             keras.layers.Dense(1024, activation="relu"),
                             keras.layers.Dense(784)])
''', "leaky_relu", "slope 0.1"),
    ("gan_tf.py", "", "generator", "tanh"),
]


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    out = tmp_path_factory.mktemp("solution") / "handout"
    build.build(out, solution=True)
    return out


def test_solution_copy_passes_every_function(solution, tmp_path):
    report = tmp_path / "report.json"
    assert main(["assignment", "check", str(solution), "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["total"] == len(sections.functions()) == data["passed"]
    # several seeded shapes per function (get_solvers has only its settings to check)
    assert all(f["cases"] >= 3 for f in data["functions"] if f["function"] != "get_solvers")


def test_stub_copy_fails_every_function_as_not_implemented(tmp_path, capsys):
    build.build(tmp_path / "stub")
    assert main(["assignment", "check", str(tmp_path / "stub")]) == 1
    out = capsys.readouterr().out
    results = check.check(tmp_path / "stub", ["rnn_step_backward", "dc_generator"])
    assert [r.ok for r in results] == [False, False]
    for f in sections.functions():
        assert f"FAIL  {f.name}: " in out
    fail_lines = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == len(sections.functions())
    assert all("not implemented" in line for line in fail_lines)
    assert "0 of" in out


def test_wrong_solutions_are_caught_and_named(tmp_path):
    mutant = tmp_path / "mutant"
    build.copy_tree(_fresh_solution(tmp_path), mutant)
    for module, code, _, _ in MUTATIONS:
        with open(mutant / "cs231n" / module, "a", encoding="utf-8") as f:
            f.write(code)
    names = [m[2] for m in MUTATIONS]
    results = {r.function: r for r in check.check(mutant, names)}
    for _, _, name, keyword in MUTATIONS:
        result = results[name]
        assert not result.ok and not result.error, result.line()
        assert keyword in result.cause, result.line()
        assert result.row is not None and result.row.worst_index is not None
    # The report names the function, the tensor, the index and both values.
    line = results["temporal_softmax_loss"].line()
    assert "FAIL  temporal_softmax_loss" in line and "got" in line and "expected" in line


def _fresh_solution(tmp_path):
    out = tmp_path / "solution"
    build.build(out, solution=True)
    return out


def test_infinite_loop_and_crash_are_reported_and_grading_goes_on(tmp_path):
    out = _fresh_solution(tmp_path)
    with open(out / "cs231n" / "rnn_layers.py", "a", encoding="utf-8") as f:
        f.write('''
import os

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    while True:
        pass

def word_embedding_forward(x, W):
    os._exit(3)
''')
    results = check.check(out, ["rnn_step_forward", "word_embedding_forward", "rnn_forward"],
                          timeout=15)
    assert "timed out after 15 s" in results[0].error
    assert "crashed" in results[1].error and "exit status 3" in results[1].error
    assert results[2].ok


def test_check_validates_its_arguments(solution):
    with pytest.raises(ValueError, match=r"function.*'lstm'"):
        check.check(solution, ["lstm"])
    with pytest.raises(ValueError, match=r"timeout.*-1"):
        check.check(solution, timeout=-1)
