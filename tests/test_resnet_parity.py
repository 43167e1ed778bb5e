"""ResNet-18 in Keras against torchref.resnet (torchvision's module tree).

Random weights, including random BN running means and variances, are copied into both
models; logits and input gradients are compared through the parity registry (as
`tfcs231n parity --module resnet18`) in float64 and float32.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from parity_helpers import parity_params
from tfcs231n.parity import engine as parity
from tfcs231n.vision.resnet import BasicBlock, ResNet18, resnet18_state_dict
from torchref import resnet as ref


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@parity_params("resnet18")
def test_logits_and_input_gradient_match_pytorch(case, shape_index, dtype):
    parity.assert_parity(case.run(dtype, seed=shape_index))


def test_parameter_count_equals_torchvision():
    torch_count = sum(p.numel() for p in ref.ResNet18().parameters())
    assert torch_count == 11_689_512  # torchvision's published num_params for resnet18
    model = ResNet18()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == torch_count
    # running mean + var of bn1, 4 BNs per stage, and the 3 downsample BNs
    bn_channels = 2 * (64 + 4 * (64 + 128 + 256 + 512) + 128 + 256 + 512)
    assert model.count_params() == torch_count + bn_channels


def test_output_shapes_follow_torch_at_odd_sizes():
    model = ResNet18(10, width=8, include_top=False)
    x = np.zeros((1, 33, 57, 3), np.float32)
    torch_model = ref.ResNet18(10, width=8).eval()
    t = torch_model.maxpool(torch_model.conv1(torch.zeros(1, 3, 33, 57)))
    for stage in ref.STAGES:
        t = getattr(torch_model, stage)(t)
    stage4 = keras.Model(model.input, model.get_layer("layer4_1").output)(x)
    assert stage4.shape[1:3] == tuple(t.shape[2:]) and stage4.shape[3] == t.shape[1]
    assert model(x).shape == (1, 64)


def test_same_padding_would_be_wrong():
    """Why the model pads explicitly: Keras 'same' at stride 2 is not PyTorch's padding=1."""
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 2))
    w = np.random.default_rng(1).standard_normal((3, 3, 2, 4))
    same = tf.nn.conv2d(x, w, 2, "SAME").numpy()
    explicit = tf.nn.conv2d(np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), w, 2, "VALID").numpy()
    torch_out = torch.nn.functional.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2),
                                           torch.from_numpy(w).permute(3, 2, 0, 1),
                                           stride=2, padding=1).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(explicit, torch_out, rtol=1e-12)
    assert np.abs(same - torch_out).max() > 0.1


def test_training_mode_batch_norm_matches_pytorch_train():
    """Fine-tuning trains with batch statistics: logits agree in train mode too."""
    state = ref.random_state_dict(5, 8, seed=3)
    model = ResNet18(5, 8, weights=state, dtype="float64")
    torch_model = ref.load_arrays(ref.ResNet18(5, 8).double(), state).train()
    x = np.random.default_rng(2).standard_normal((4, 40, 40, 3))
    actual = model(x, training=True).numpy()
    desired = torch_model(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
    row = parity.compare_arrays("logits", actual, desired, parity.TOLERANCES["float64"])
    assert row.ok, row


def test_state_dict_round_trip_and_new_head():
    state = ref.random_state_dict(7, 8, seed=1)
    model = ResNet18(7, 8, weights=state)
    back = resnet18_state_dict(model)
    expected = {k for k in state if not k.endswith("num_batches_tracked")}
    assert set(back) == expected
    for k in expected:
        np.testing.assert_allclose(back[k], state[k], rtol=1e-6, err_msg=k)
    # Another number of classes: backbone loads, the fresh head is kept (fine-tuning).
    new = ResNet18(2, 8, weights=state)
    np.testing.assert_allclose(new.get_layer("conv1").kernel.numpy(),
                               model.get_layer("conv1").kernel.numpy())
    assert new.get_layer("fc").kernel.shape == (64, 2)
    ResNet18(3, 8, weights=state, include_top=False)  # no head: fc keys ignored


def test_bad_state_dicts_are_rejected():
    state = ref.random_state_dict(7, 8, seed=1)
    missing = {k: v for k, v in state.items() if k != "layer2.0.bn1.running_var"}
    with pytest.raises(ValueError, match=r"missing layer2\.0\.bn1\.running_var"):
        ResNet18(7, 8, weights=missing)
    with pytest.raises(ValueError, match=r"misshapen conv1\.weight .*expected \(16, 3, 7, 7\)"):
        ResNet18(7, 16, weights=state)  # wrong width
    with pytest.raises(ValueError, match=r"unexpected layer5\.0\.conv1\.weight"):
        ResNet18(7, 8, weights={**state, "layer5.0.conv1.weight": np.zeros(1)})
    with pytest.raises(ValueError, match=r"misshapen fc\.weight"):  # 1000 classes insist
        ResNet18(width=8, weights=state)


def test_pth_file_and_keras_file_round_trip(tmp_path):
    state = ref.random_state_dict(4, 8, seed=2)
    path = tmp_path / "resnet18.pth"
    torch.save(ref.load_arrays(ref.ResNet18(4, 8), state).state_dict(), path)
    model = ResNet18(4, 8, weights=str(path))
    x = np.random.default_rng(0).standard_normal((2, 32, 32, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), rtol=1e-5)
    assert isinstance(loaded.get_layer("layer2_0"), BasicBlock)


def test_arguments_are_validated():
    with pytest.raises(ValueError, match=r"\bwidth\b.*\b0\b"):
        ResNet18(width=0)
    with pytest.raises(ValueError, match=r"\binput_shape\b.*\(32, 32, 1\)"):
        ResNet18(input_shape=(32, 32, 1))
    with pytest.raises(ValueError, match=r"the state dict does not fit ResNet-18: missing "):
        ResNet18(3, 8, weights={})
