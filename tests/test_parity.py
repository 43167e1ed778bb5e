"""tfcs231n.parity.engine: the engine catches what it must, and the layout adapters are right."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from tfcs231n.parity import engine as parity
from tfcs231n import interop
from tfcs231n.parity.engine import normal


def _tanh_ref(perturb=None):
    def ref(inputs, douts):
        out = np.tanh(inputs["x"])
        grad = (1 - out**2) * douts[0]
        if perturb:
            out = perturb(out)
        return out, {"x": grad}
    return ref


def test_identical_math_passes_and_reports_every_tensor():
    report = parity.compare("tanh", tf.tanh, _tanh_ref(), {"x": normal((3, 4))}, wrt=["x"])
    assert report.ok, str(report)
    assert [r.tensor for r in report.rows] == ["out", "dx"]
    assert report.rows[0].max_rel < 1e-15


def test_small_error_at_one_element_fails_and_is_located():
    def bump(out):
        out = out.copy()
        out[2, 1] *= 1 + 1e-7  # far below float32 noise, far above float64's 1e-9
        return out
    report = parity.compare("tanh", tf.tanh, _tanh_ref(bump), {"x": normal((3, 4))}, wrt=["x"])
    assert not report.ok
    row = report.rows[0]
    assert row.worst_index == (2, 1) and "1 elements over tolerance" in row.problem
    assert row.desired == pytest.approx(row.actual * (1 + 1e-7), rel=1e-12)
    with pytest.raises(AssertionError, match=r"(?s)parity failed:.*tanh.*FAIL"):
        report.assert_ok()
    # The same bump is within the float32 policy.
    assert parity.compare("tanh", tf.tanh, _tanh_ref(bump), {"x": normal((3, 4))},
                          wrt=["x"], dtype="float32").ok


def _kinked_ref(wrong_in_float32):
    """relu's reference; its float32 gradient can be made to take the wrong branch at one
    element, as rounding near a kink does to a real network's reference."""
    def ref(inputs, douts):
        x = inputs["x"]
        grad = (x > 0) * douts[0]
        if wrong_in_float32 and x.dtype == np.float32:
            grad = grad.copy()
            grad[1, 2] = douts[0][1, 2] - grad[1, 2]  # the other branch
        return np.maximum(x, 0), {"x": grad}
    return ref


def test_float32_failure_is_arbitrated_by_the_float64_reference():
    specs = {"x": normal((3, 4))}
    # The float32 reference is wrong at one element: TF agrees with the float64 reference,
    # so the row passes against it and says why.
    report = parity.compare("relu", lambda x: tf.nn.relu(x), _kinked_ref(True), specs, wrt=["x"],
                            dtype="float32")
    assert report.ok, str(report)
    assert "vs float64 ref" in report.rows[1].note and "1 elements" in report.rows[1].note
    assert "ok vs float64 ref" in str(report)
    # TF's gradient wrong too, in the row where the reference is off: the float64
    # reference condemns it.
    def tf_wrong_grad(x):
        return tf.nn.relu(x) + 0.3 * (x - tf.stop_gradient(x))  # same values, gradient +0.3
    report = parity.compare("relu", tf_wrong_grad, _kinked_ref(True), specs, wrt=["x"],
                            dtype="float32")
    assert report.rows[0].ok and not report.rows[1].ok and report.rows[1].note == ""
    # TF's output wrong: the reference's output is right, so nothing is arbitrated.
    def tf_wrong(x):
        return tf.nn.relu(x) + tf.scatter_nd([[0, 0]], tf.constant([0.5], x.dtype), x.shape)
    report = parity.compare("relu", tf_wrong, _kinked_ref(True), specs, wrt=["x"],
                            dtype="float32")
    assert not report.ok and report.rows[0].note == ""
    # TF wrong, reference right: no arbitration can save it.
    report = parity.compare("relu", tf_wrong, _kinked_ref(False), specs, wrt=["x"],
                            dtype="float32")
    assert not report.ok
    # Both within tolerance of the float64 answer but apart from each other: the float32
    # reference is not shown wrong, so the direct comparison stands and fails.
    x = {"x": np.array([[1.0, -0.5], [0.25, 2.0]])}  # float32 allows 1e-4*1 + 1e-5*2 at [0, 0]
    def nudged_ref(inputs, douts):
        out = np.maximum(inputs["x"], 0)
        if out.dtype == np.float32:
            out = out.copy()
            out[0, 0] -= 8e-5
        return out, {}
    def tf_nudged(x):
        return tf.nn.relu(x) + tf.scatter_nd([[0, 0]], tf.constant([8e-5], x.dtype), x.shape)
    report = parity.compare("relu", tf_nudged, nudged_ref, x, dtype="float32")
    assert not report.ok and report.rows[0].note == ""
    # float64 is never arbitrated: it is the arbiter.
    report = parity.compare("relu", tf_wrong, _kinked_ref(False), specs, wrt=["x"])
    assert not report.ok


def test_shape_and_nan_position_mismatches_fail_before_values():
    shape = parity.compare_arrays("t", np.zeros((2, 3)), np.zeros((3, 2)), parity.TOLERANCES["float64"])
    assert not shape.ok and "shape (2, 3) != (3, 2)" in shape.problem
    a, d = np.ones(4), np.ones(4)
    a[1], d[2] = np.nan, np.nan
    nan = parity.compare_arrays("t", a, d, parity.TOLERANCES["float64"])
    assert not nan.ok and "nan positions differ" in nan.problem and nan.worst_index == (1,)
    both = parity.compare_arrays("t", d, d.copy(), parity.TOLERANCES["float64"])
    assert both.ok  # NaN in the same place on both sides is agreement


def test_float32_policy_scales_with_magnitude_not_per_element():
    tol = parity.TOLERANCES["float32"]
    desired = np.array([1.0, 0.0, -2.0])
    near_zero = desired + np.array([0, 1e-7, 0])  # rel error 1.0 at the zero, yet harmless
    assert parity.compare_arrays("t", near_zero, desired, tol).ok
    assert not parity.compare_arrays("t", desired * (1 + 1e-3), desired, tol).ok


def test_inputs_come_from_one_seeded_generator_and_cast_exactly():
    specs = {"a": normal((2, 3)), "ids": parity.integers((4,), 0, 9), "m": parity.boolean((5,))}
    first, _ = parity.draw_inputs(specs, seed=7)
    again, _ = parity.draw_inputs(specs, seed=7)
    other, _ = parity.draw_inputs(specs, seed=8)
    assert all(np.array_equal(first[k], again[k]) for k in specs)
    assert not np.array_equal(first["a"], other["a"])
    cast = parity.cast_floats(first, "float32")
    assert cast["a"].dtype == np.float32 and cast["ids"].dtype == np.int64
    np.testing.assert_array_equal(cast["a"], first["a"].astype(np.float32))


def test_report_serialises_to_json_and_table():
    report = parity.compare("tanh", tf.tanh, _tanh_ref(), {"x": normal((2,))}, wrt=["x"])
    data = json.loads(report.to_json())
    assert data["ok"] and data["rows"][1]["tensor"] == "dx" and data["rows"][1]["shape"] == [2]
    table = str(report).splitlines()
    assert table[0].split()[:3] == ["case", "dtype", "tensor"] and len(table) == 3


def test_torch_reference_adapter():
    report = parity.compare(
        "softplus", lambda x, w: tf.nn.softplus(x @ w),
        parity.torch_reference(lambda x, w: torch.nn.functional.softplus(x @ w)),
        {"x": normal((3, 4)), "w": normal((4, 5))}, wrt=["x", "w"],
    )
    assert report.ok, str(report)
    assert [r.tensor for r in report.rows] == ["out", "dx", "dw"]


# --------------------------------------------------------------------------- layouts
# Every dimension differs, so a swapped axis changes the numbers instead of passing.

def test_dense_adapter():
    rng = np.random.default_rng(0)
    lin = torch.nn.Linear(5, 3, dtype=torch.float64)
    x = rng.standard_normal((2, 5))
    kernel = interop.dense_torch_to_keras(lin.weight.detach().numpy())
    np.testing.assert_allclose(x @ kernel + lin.bias.detach().numpy(),
                               lin(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(interop.dense_keras_to_torch(kernel), lin.weight.detach().numpy())


def test_conv_and_layout_adapters():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((7, 2, 3, 5))  # (out, in, kh, kw)
    x = rng.standard_normal((1, 2, 11, 13))  # NCHW
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    got = tf.nn.conv2d(interop.nchw_to_nhwc(x), interop.conv_torch_to_keras(w), 1, "VALID")
    np.testing.assert_allclose(interop.nhwc_to_nchw(got.numpy()), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(interop.conv_keras_to_torch(interop.conv_torch_to_keras(w)), w)


def test_conv_transpose_adapter_4x4_stride2():
    # Keras 'same' equals torch padding=1 for a 4x4 stride-2 transposed convolution (DCGAN).
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 5, 4, 4))  # torch ConvTranspose2d: (in, out, kh, kw)
    x = rng.standard_normal((2, 3, 6, 7))
    expected = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1).numpy()
    layer = keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same", use_bias=False,
                                         dtype="float64")
    layer.build((None, 6, 7, 3))
    layer.kernel.assign(interop.conv_transpose_torch_to_keras(w))
    got = interop.nhwc_to_nchw(layer(interop.nchw_to_nhwc(x)).numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_gate_reordering_between_course_torch_and_keras():
    from tfcs231n.captioning import ops

    rng = np.random.default_rng(3)
    N, D, H = 2, 3, 5
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    want_h, want_c = (t.numpy() for t in ops.lstm_step_forward(x, h, c, Wx, Wh, b))

    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(interop.reorder_gates(Wx, "course", "torch").T))
        cell.weight_hh.copy_(torch.from_numpy(interop.reorder_gates(Wh, "course", "torch").T))
        cell.bias_ih.copy_(torch.from_numpy(interop.reorder_gates(b, "course", "torch")))
        cell.bias_hh.zero_()
    th, tc = cell(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
    np.testing.assert_allclose(th.detach().numpy(), want_h, rtol=1e-12)
    np.testing.assert_allclose(tc.detach().numpy(), want_c, rtol=1e-12)

    kcell = keras.layers.LSTMCell(H, unit_forget_bias=False, dtype="float64")
    kcell.build((N, D))
    kcell.set_weights([interop.reorder_gates(w, "course", "keras") for w in (Wx, Wh, b)])
    kh, (_, kc) = kcell(x, [h, c])
    np.testing.assert_allclose(kh.numpy(), want_h, rtol=1e-12)
    np.testing.assert_allclose(kc.numpy(), want_c, rtol=1e-12)
    back = interop.reorder_gates(interop.reorder_gates(Wx, "course", "torch"), "torch", "course")
    np.testing.assert_array_equal(back, Wx)
    with pytest.raises(ValueError, match=r"\border\b.*'tf'"):
        interop.reorder_gates(Wx, "course", "tf")
