"""tfcs231n.captioning.model and captioning_solver: the course's model, decoding, training, export."""

import itertools
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfcs231n.parity import course_values as cv
from tfcs231n.parity import engine as parity
from tfcs231n.captioning.model import CaptioningRNN, caption_words, export_captioner
from tfcs231n.captioning.solver import CaptioningSolver, SolverConfig
from tfcs231n.data import synthetic_coco
from tfcs231n.data.coco import decode_captions, load_coco_data

TINY_VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3, "dog": 4}


@pytest.fixture(scope="module")
def coco_dir(tmp_path_factory):
    return synthetic_coco.write_coco_format(tmp_path_factory.mktemp("coco"), 300, 60, seed=1,
                                            write_images=False)


@pytest.mark.parametrize("cell,gates", [("rnn", 1), ("lstm", 4)])
def test_params_have_the_course_names_and_shapes(cell, gates):
    V, D, W, H = len(TINY_VOCAB), 7, 6, 9
    model = CaptioningRNN(TINY_VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell)
    shapes = {k: tuple(v.shape) for k, v in model.params.items()}
    assert shapes == {"W_proj": (D, H), "b_proj": (H,), "W_embed": (V, W), "Wx": (W, gates * H),
                      "Wh": (H, gates * H), "b": (gates * H,), "W_vocab": (H, V), "b_vocab": (V,)}
    assert len(model.trainable_variables) == 8


@pytest.mark.parametrize("case", [cv.CAPTIONING_RNN_LOSS, cv.CAPTIONING_LSTM_LOSS],
                         ids=["rnn", "lstm"])
def test_course_loss_values(case):
    inputs = cv.make_inputs(case)
    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2}
    model = CaptioningRNN(vocab, input_dim=20, wordvec_dim=30, hidden_dim=40,
                          cell_type=case["cell_type"], dtype="float64")
    for name, var in model.params.items():
        var.assign(inputs[name])
    loss = model.caption_loss(inputs["features"], inputs["captions"])
    assert loss.dtype == tf.float64
    assert abs(float(loss) - case["expected"]["loss"]) <= parity.published_atol(11)


def _log_prob(model, features, words):
    """log p(words | features) by teacher forcing, counting up to and including <END>."""
    ids = np.array([[1] + list(words[:-1])])
    logp = tf.nn.log_softmax(model(features, ids)).numpy()[0]
    total = 0.0
    for t, w in enumerate(words):
        total += logp[t, w]
        if w == 2:
            break
    return total


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_wide_beam_search_finds_the_most_probable_caption(cell):
    # With beam width >= V^(L-1) no prefix is ever pruned, so beam search is exhaustive.
    V, L = len(TINY_VOCAB), 3
    model = CaptioningRNN(TINY_VOCAB, input_dim=4, wordvec_dim=3, hidden_dim=5, cell_type=cell,
                          dtype="float64", seed=3)
    for var in model.params.values():  # sharpen the distribution so captions differ
        var.assign(var * 3)
    features = np.random.default_rng(0).standard_normal((1, 4))
    candidates = []
    for words in itertools.product(range(V), repeat=L):
        if 2 in words:  # canonical form: <NULL> after the first <END>
            end = words.index(2)
            if any(w != 0 for w in words[end + 1:]):
                continue
        candidates.append((_log_prob(model, features, words), words))
    best_logp, best = max(candidates)
    found = model.sample(features, max_length=L, beam_size=V ** (L - 1)).numpy()[0]
    assert tuple(found) == best
    greedy = model.sample(features, max_length=L).numpy()[0]
    assert _log_prob(model, features, tuple(greedy)) <= best_logp + 1e-12


def test_sampling_pads_with_null_after_end():
    vocab = dict(TINY_VOCAB)
    model = CaptioningRNN(vocab, input_dim=4, wordvec_dim=3, hidden_dim=5, seed=1)
    b = model.params["b_vocab"].numpy()
    b[2] = 4.0  # make <END> likely early, but not at every step for every input
    model.params["b_vocab"].assign(b)
    ids = model.sample(np.random.default_rng(1).standard_normal((64, 4)) * 3, max_length=8)
    ids = ids.numpy()
    assert ids.dtype == np.int32 and ids.shape == (64, 8)
    ended = 0
    for row in ids:
        if 2 in row:
            ended += 1
            assert (row[list(row).index(2) + 1:] == 0).all(), row
    assert ended > 0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"\bcell_type\b.*'gru'"):
        CaptioningRNN(TINY_VOCAB, cell_type="gru")
    with pytest.raises(ValueError, match=r"\bword_to_idx\b.*'<NULL>'"):
        CaptioningRNN({"<START>": 1, "<END>": 2, "cat": 0})
    # The course's loss-check vocabulary has no <START>/<END>: loss works, sampling says why.
    course = CaptioningRNN({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=4, wordvec_dim=3,
                           hidden_dim=5)
    no_start = np.array([[0, 1, 2], [2, 1, 0]])
    assert np.isfinite(float(course.caption_loss(np.zeros((2, 4)), no_start)))
    with pytest.raises(ValueError, match=r"'<START>'.*'<END>'"):
        course.sample(np.zeros((2, 4)))
    model = CaptioningRNN(TINY_VOCAB, input_dim=4, wordvec_dim=3, hidden_dim=5)
    with pytest.raises(ValueError, match=r"\bfeatures\b.*\(2, 3\).*\(N, ?4\)"):
        model.sample(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\bx\b.*\[0, 5\).*\b9\b"):
        model.caption_loss(np.zeros((2, 4)), np.array([[1, 9, 2], [1, 3, 2]]))
    with pytest.raises(ValueError, match=r"\bbeam_size\b.*\b0\b"):
        model.sample(np.zeros((2, 4)), beam_size=0)
    nan = np.zeros((2, 4))
    nan[1, 2] = np.nan  # decoded, it would be a caption of <NULL>s, not an error
    with pytest.raises(ValueError, match=r"^features\b.*\b1\b.*\bNaN\b"):
        model.sample(nan)
    with pytest.raises(ValueError, match=r"^captions\b.*\(1, 3\).*\bfeatures\b"):
        model.caption_loss(np.zeros((2, 4)), np.array([[1, 3, 2]]))
    words = sorted(TINY_VOCAB, key=TINY_VOCAB.get)
    for idx_to_word in (words, dict(enumerate(words))):  # the course's list, or a dict
        assert caption_words(np.array([1, 3, 4, 2, 3]), idx_to_word) == ["cat", "dog"]
        for bad in (7, -1):
            with pytest.raises(ValueError, match=rf"(?<!\d){bad}\b.*\bidx_to_word\b"):
                caption_words(np.array([3, bad]), idx_to_word)
    with pytest.raises(NotImplementedError, match="CaptioningSolver"):
        model.compile(optimizer="adam")


# --------------------------------------------------------------------------- training

def _model(data, cell="lstm", seed=0, **kw):
    kw = {"wordvec_dim": 16, "hidden_dim": 24, **kw}
    return CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                         cell_type=cell, seed=seed, **kw)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_overfits_fifty_captions(coco_dir, cell):
    # The course's overfit check on 50 captions and its model size; a constant learning
    # rate (the course decays by 0.95 per epoch, which stalls near 0.1 at 100 epochs here).
    # One caption from each of 50 images: two paraphrases of one image would put a floor
    # of about log(2) per diverging word under the loss.
    data = load_coco_data(coco_dir)
    _, first = np.unique(data["train_image_idxs"], return_index=True)
    keep = np.sort(first)[:50]
    data["train_captions"] = data["train_captions"][keep]
    data["train_image_idxs"] = data["train_image_idxs"][keep]
    model = _model(data, cell, wordvec_dim=256, hidden_dim=512)
    solver = CaptioningSolver(model, data, num_epochs=100, batch_size=25, learning_rate=5e-3,
                              lr_decay=1.0, verbose=False)
    solver.train()
    feats = data["train_features"][data["train_image_idxs"]]
    assert float(model.caption_loss(feats, data["train_captions"])) < 0.1


def test_resume_gives_the_uninterrupted_run_bit_for_bit(coco_dir, tmp_path):
    data = load_coco_data(coco_dir, max_train=120, seed=0)
    cfg = SolverConfig(num_epochs=4, batch_size=20, lr_decay=0.9, verbose=False)
    straight = _model(data)
    history = CaptioningSolver(straight, data, cfg).train()

    first = _model(data)
    CaptioningSolver(first, data, cfg, num_epochs=2, checkpoint_dir=str(tmp_path)).train()
    resumed = _model(data, seed=99)  # a differently initialised model: the checkpoint must win
    solver = CaptioningSolver(resumed, data, cfg, checkpoint_dir=str(tmp_path))
    resumed_history = solver.train(resume=True)

    assert resumed_history == history
    for a, b in zip(resumed.weights, straight.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert sorted(os.listdir(tmp_path)) == ["epoch-0003", "epoch-0004"]


def test_nan_loss_stops_with_a_clear_error(coco_dir):
    data = load_coco_data(coco_dir, max_train=40, seed=0)
    model = _model(data)
    model.params["b_vocab"].assign(np.full(model.vocab_size, np.nan, np.float32))
    with pytest.raises(FloatingPointError, match=r"\bloss\b.*\bnan\b.*\b0\b"):
        CaptioningSolver(model, data, num_epochs=1, verbose=False).train()


def test_solver_config_is_validated():
    with pytest.raises(ValueError, match=r"\bupdate_rule\b.*'adagrad'"):
        SolverConfig(update_rule="adagrad")
    with pytest.raises(ValueError, match=r"\bbatch_size\b.*\b0\b"):
        SolverConfig(batch_size=0)


MIRRORED = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfcs231n.captioning.model import CaptioningRNN
    from tfcs231n.captioning.solver import CaptioningSolver
    from tfcs231n.data.coco import load_coco_data
    data = load_coco_data(sys.argv[1], max_train=80, seed=0)
    out = {}
    for name, strategy in [("single", None),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        scope = strategy.scope() if strategy else tf.init_scope()
        with scope:
            model = CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=16,
                                  hidden_dim=24, cell_type="lstm")
        solver = CaptioningSolver(model, data, num_epochs=3, batch_size=20, verbose=False,
                                  strategy=strategy)
        out[name] = solver.train()
        out[name + "_replicas"] = solver.strategy.num_replicas_in_sync
    print(json.dumps(out))
""")


def test_mirrored_strategy_matches_single_device(coco_dir):
    result = subprocess.run([sys.executable, "-c", MIRRORED, str(coco_dir)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["single_replicas"] == 1 and out["mirrored_replicas"] == 2
    row = parity.compare_arrays("loss curve", out["mirrored"], out["single"],
                                parity.TOLERANCES["float32"])
    assert row.ok, parity.format_table([parity.ParityReport("mirrored", "float32", [row])])


# --------------------------------------------------------------------------- export

RELOAD = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
    out = serve(features=tf.constant(np.load(sys.argv[2])))
    print(json.dumps({"ids": out["caption_ids"].numpy().tolist(),
                      "captions": [c.decode() for c in out["captions"].numpy()],
                      "dtype": out["caption_ids"].dtype.name}))
""")


def test_saved_model_captions_like_the_model_in_a_fresh_process(coco_dir, tmp_path):
    data = load_coco_data(coco_dir, max_train=100, seed=0)
    model = _model(data)
    CaptioningSolver(model, data, num_epochs=2, batch_size=25, verbose=False).train()
    features = data["val_features"][:7].astype(np.float32)
    export_captioner(model, tmp_path / "captioner", data["idx_to_word"], max_length=16)
    np.save(tmp_path / "f.npy", features)
    result = subprocess.run([sys.executable, "-c", RELOAD, str(tmp_path / "captioner"),
                             str(tmp_path / "f.npy")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    expected = model.sample(features, max_length=16).numpy()
    assert out["dtype"] == "int32"
    np.testing.assert_array_equal(np.array(out["ids"]), expected)
    assert out["captions"] == [" ".join(caption_words(r, data["idx_to_word"])) for r in expected]
    assert decode_captions(expected, data["idx_to_word"])  # the course's decoder accepts them
