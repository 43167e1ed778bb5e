"""The command starts TensorFlow quietly: its known start-up lines never reach stderr, every
other line does; our own GAN graphs do not make grappler's remapper fail."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf

from tfcs231n.cli import console
from tfcs231n.gan import models as gan

# Substrings of the start-up lines seen on a CPU-only machine (issue 22).
STARTUP_MARKS = ("absl::InitializeLog", "oneDNN custom operations", "cudart_stub.cc",
                 "failed call to cuInit")

STARTUP_SAMPLE = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796610426.175863    9963 port.cc:153] oneDNN custom operations are on. "
    b"You may see slightly different numerical results.\n"
    b"I0000 00:00:1796610426.176205    9963 cudart_stub.cc:31] Could not find cuda drivers on "
    b"your machine, GPU will not be used.\n"
    b"E0000 00:00:1796610428.768749    9963 cuda_platform.cc:52] failed call to cuInit: "
    b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
)


def _newcomer_env():
    """The environment of a person who never set TF_CPP_MIN_LOG_LEVEL."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def test_parity_command_has_no_startup_lines_but_errors_get_through(tmp_path):
    # --json into a missing directory: a real error, after TensorFlow has started.
    result = subprocess.run(
        [sys.executable, "-m", "tfcs231n", "parity", "--module", "rnn", "--json",
         str(tmp_path / "missing" / "p.json")],
        capture_output=True, text=True, timeout=600, env=_newcomer_env())
    assert "16 passed, 0 failed" in result.stdout
    found = [m for m in STARTUP_MARKS if m in result.stderr]
    assert not found, result.stderr
    assert result.returncode == 1
    assert "tfcs231n parity: " in result.stderr and "missing" in result.stderr


FILTER_SCRIPT = textwrap.dedent("""
    import os, subprocess, sys
    from tfcs231n.cli.console import quiet_startup
    sample = sys.stdin.buffer.read()
    with quiet_startup():
        os.write(2, b"before\\n" + sample)
        # an error TF prints after start-up is not a start-up line
        os.write(2, b"E0000 00:00:1.5  7 meta_optimizer.cc:967] remapper failed: X\\n")
        os.write(2, b"I0000 00:00:1.5  7 other.cc:1] a note\\n")
        print("from python", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('child\\\\n')"])
        first = sample.split(b"\\n")[0]
        os.write(2, first[:30])  # a start-up line written in two pieces is still dropped
        os.write(2, first[30:] + b"\\n")
        os.write(2, b"no newline")
    print("after", file=sys.stderr)
""")


def test_filter_drops_only_startup_lines():
    result = subprocess.run([sys.executable, "-c", FILTER_SCRIPT], input=STARTUP_SAMPLE,
                            capture_output=True, timeout=120, env=_newcomer_env())
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        "before",
        "E0000 00:00:1.5  7 meta_optimizer.cc:967] remapper failed: X",
        "I0000 00:00:1.5  7 other.cc:1] a note",
        "from python",
        "child",
        "no newlineafter",
    ]


def test_known_lines_are_recognised_and_nothing_else():
    for line in STARTUP_SAMPLE.splitlines():
        assert console.is_startup_line(line), line
    for line in (b"WARNING: something else", b"Traceback (most recent call last):",
                 b"E0000 00:00:1.5  7 meta_optimizer.cc:967] remapper failed: X",
                 b"I0000 00:00:1.5  7 port.cc:153] another note", b""):
        assert not console.is_startup_line(line), line


GAN_SCRIPT = textwrap.dedent("""
    import numpy as np
    from tfcs231n.gan import training as gt
    config = gt.GANConfig(model="dcgan", batch_size=8, num_epochs=1, steps_per_epoch=2)
    gt.train(config, np.random.RandomState(0).rand(32, 28, 28).astype("float32"), verbose=0)
    print("trained")
""")


def test_dcgan_training_graph_does_not_make_the_remapper_fail():
    env = {**_newcomer_env(), "TF_CPP_MIN_LOG_LEVEL": "0"}
    result = subprocess.run([sys.executable, "-c", GAN_SCRIPT], capture_output=True,
                            text=True, timeout=600, env=env)
    assert "trained" in result.stdout, result.stderr
    assert "remapper failed" not in result.stderr


def test_leaky_relu_gradients_match_tensorflows_bit_for_bit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000).astype(np.float32)
    x[:10] = 0.0
    x[10:20] = -0.0
    x = tf.constant(x)
    for alpha in (0.0, 0.01, 0.2):
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(x)
            with tf.GradientTape(persistent=True) as inner:
                inner.watch(x)
                actual, desired = gan.leaky_relu(x, alpha), tf.nn.leaky_relu(x, alpha)
            # x * grad: a first derivative that still depends on x, as a gradient penalty's
            g_actual = inner.gradient(actual, x) * x
            g_desired = inner.gradient(desired, x) * x
        np.testing.assert_array_equal(actual.numpy(), desired.numpy())
        np.testing.assert_array_equal(g_actual.numpy(), g_desired.numpy())
        np.testing.assert_array_equal(outer.gradient(g_actual, x).numpy(),
                                      outer.gradient(g_desired, x).numpy())
