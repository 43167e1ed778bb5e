"""GAN training: exact resume, kill -9 safety, grids, export to a SavedModel."""

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tfcs231n.gan import training as gt

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data(n=256):
    return np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _config(**kw):
    base = dict(model="vanilla", batch_size=32, num_epochs=2, noise_dim=8, steps_per_epoch=4)
    base.update(kw)
    return gt.GANConfig(**base)


def _weights(model):
    return [w.numpy() for w in model.discriminator.weights + model.generator.weights]


@pytest.mark.parametrize("kind", ["vanilla", "dcgan"])
def test_resume_continues_exactly(tmp_path, kind):
    straight, result = gt.train(_config(model=kind), _data(), out_dir=tmp_path / "a", verbose=0)
    assert result["epochs_done"] == 2 and len(result["grids"]) == 2
    assert all(p.is_file() for p in result["grids"])

    gt.train(_config(model=kind, num_epochs=1), _data(), out_dir=tmp_path / "b", verbose=0)
    resumed, result_b = gt.train(_config(model=kind), _data(), out_dir=tmp_path / "b",
                                 resume=True, verbose=0)
    assert result_b["history"]["d_loss"] == result["history"]["d_loss"]
    for a, b in zip(_weights(straight), _weights(resumed)):
        np.testing.assert_array_equal(a, b)


def test_wgan_gp_resume_restores_exactly_and_continues(tmp_path):
    """WGAN-GP's checkpoint restores critic, generator and both Adams bit for bit; the
    continued losses match the uninterrupted run's to the float32 policy, not bit for bit:
    two same-seed WGAN-GP runs in one process differ already (measured: critic weights in
    61,708 elements after 8 iterations, at float32 rounding, with TF's op determinism on as
    well), and Adam turns the round-off of the critic's cancelling bias gradients into
    whole steps, so weights are not compared after training."""
    from tfcs231n.parity.engine import TOLERANCES, compare_arrays

    _, result = gt.train(_config(model="wgan-gp"), _data(), verbose=0)
    first, _ = gt.train(_config(model="wgan-gp", num_epochs=1), _data(), out_dir=tmp_path,
                        verbose=0)
    restored, _ = gt.train(_config(model="wgan-gp", num_epochs=1), _data(), out_dir=tmp_path,
                           resume=True, verbose=0)  # nothing left to train: restored only
    for a, b in zip(_weights(first) + [v.numpy() for v in first.d_optimizer.variables],
                    _weights(restored) + [v.numpy() for v in restored.d_optimizer.variables]):
        np.testing.assert_array_equal(a, b)
    assert int(restored.d_optimizer.iterations) == 5  # one iteration: five critic steps
    resumed, result_b = gt.train(_config(model="wgan-gp"), _data(), out_dir=tmp_path,
                                 resume=True, verbose=0)
    assert result_b["start_epoch"] == 1 and len(result_b["history"]["d_loss"]) == 2
    for name in ("d_loss", "g_loss"):
        row = compare_arrays(name, result_b["history"][name], result["history"][name],
                             TOLERANCES["float32"])
        assert row.ok, row


def test_time_budget_stops_without_checkpointing_partial_epoch(tmp_path):
    _, result = gt.train(_config(num_epochs=5, steps_per_epoch=None, time_budget_s=0.0),
                         _data(), out_dir=tmp_path, verbose=0)
    assert result["stopped_early"] and result["epochs_done"] == 0
    assert not (tmp_path / "checkpoints").exists() or not os.listdir(tmp_path / "checkpoints")


def test_recorded_seconds_leave_out_the_time_spent_measuring():
    # A model measured after every short epoch must not look slower on a time axis than
    # one measured rarely: metrics_fn's time is not training time.
    def slow_metrics(generator):
        time.sleep(0.5)
        return {"fd": 1.0}

    _, result = gt.train(_config(num_epochs=3), _data(), metrics_fn=slow_metrics, verbose=0)
    epochs = result["history"]["epochs"]
    assert [e["fd"] for e in epochs] == [1.0] * 3
    assert epochs[-1]["seconds"] - epochs[0]["seconds"] < 0.5  # two sleeps would add 1.0


_TRAIN_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from tfcs231n.gan import training as gt
    data = np.random.default_rng(0).integers(0, 256, (4096, 28, 28), dtype=np.uint8)
    config = gt.GANConfig(model="vanilla", batch_size=32, num_epochs=int(sys.argv[2]),
                          noise_dim=8, steps_per_epoch=int(sys.argv[3]))
    _, result = gt.train(config, data, out_dir=sys.argv[1], resume=True, verbose=0)
    print("EPOCHS", result["epochs_done"], len(result["history"]["d_loss"]))
""")


def _spawn(out_dir, epochs, steps):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-c", _TRAIN_SCRIPT, str(out_dir), str(epochs),
                             str(steps)], env=env, stdout=subprocess.PIPE, text=True)


def test_kill_9_mid_epoch_then_resume(tmp_path):
    """SIGKILL during epoch 2 (of 3); the resumed run starts at epoch 1's checkpoint."""
    steps = 100  # an epoch of a few seconds, so the kill lands inside one
    proc = _spawn(tmp_path, 3, steps)
    ckpt = tmp_path / "checkpoints"
    deadline = time.monotonic() + 240
    while not (ckpt / "epoch-0001" / "state.json").is_file():
        assert proc.poll() is None, "training exited before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "run finished before it could be killed; raise steps"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = sorted(p.name for p in ckpt.iterdir() if not p.name.startswith("."))
    assert done[-1] in ("epoch-0001", "epoch-0002")
    with open(ckpt / done[-1] / "state.json") as f:
        killed_at = json.load(f)["epoch"]

    proc = _spawn(tmp_path, 3, steps)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "EPOCHS 3" in out
    # One d_loss per step of every epoch: the lost partial epoch is redone, not doubled.
    assert f"EPOCHS 3 {3 * steps}" in out
    assert killed_at >= 1
    G, state = gt.restore_generator(tmp_path, "vanilla", noise_dim=8)
    assert state["epoch"] == 3


def test_export_generator_reloads_in_fresh_process(tmp_path):
    model, _ = gt.train(_config(model="dcgan", num_epochs=1), _data(), verbose=0)
    path = gt.export_generator(model.generator, tmp_path / "generator")
    noise = np.random.default_rng(1).uniform(-1, 1, (5, 8)).astype(np.float32)
    np.save(tmp_path / "noise.npy", noise)
    expected = np.clip(np.rint((model.generator(noise, training=False).numpy() + 1) * 127.5),
                       0, 255).astype(np.uint8).reshape(5, 28, 28, 1)
    script = textwrap.dedent(f"""
        import numpy as np
        from tfcs231n.gan.training import load_exported
        images = load_exported({str(path)!r})(np.load({str(tmp_path / 'noise.npy')!r}))
        np.save({str(tmp_path / 'images.npy')!r}, images)
    """)
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    images = np.load(tmp_path / "images.npy")
    assert images.dtype == np.uint8 and images.shape == (5, 28, 28, 1)
    # Rounding the same float32 values can differ by one grey level at a .5 boundary.
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1


def test_bad_config_and_data():
    with pytest.raises(ValueError, match=r"\bbatch_size\b.*\b0\b"):
        gt.GANConfig(batch_size=0)
    with pytest.raises(ValueError, match=r"\bimages\b.*\(3, 27, 28\)"):
        gt.to_gan_input(np.zeros((3, 27, 28)))
    with pytest.raises(ValueError, match=r"\b10\b.*\b64\b"):
        gt.train(_config(batch_size=64), _data(10), verbose=0)
    with pytest.raises(ValueError, match=r"\bmodel\b.*'wgan'"):
        gt.GANConfig(model="wgan")
    with pytest.raises(ValueError, match=r"\bn_critic\b.*0"):
        gt.GANConfig(n_critic=0)
    import tensorflow as tf

    with pytest.raises(ValueError, match=r"\bstrategy=MirroredStrategy\b"):
        gt.train_gan(gt.build_gan("vanilla", noise_dim=8), _data(), _config(),
                     strategy=tf.distribute.MirroredStrategy(["/cpu:0"]), verbose=0)


def test_wgan_gp_config_iterations_and_batches():
    config = gt.GANConfig(model="wgan-gp", batch_size=32)
    assert (config.learning_rate, config.beta1, config.beta2) == (1e-4, 0.0, 0.9)
    assert (config.n_critic, config.lambda_gp) == (5, 10.0)
    assert gt.GANConfig(model="wgan-gp", n_critic=2).n_critic == 2
    assert gt.steps_per_epoch(config, 1000) == 1000 // (32 * 5)
    with pytest.raises(ValueError, match=r"\b100 images\b.*each of 5 critic steps"):
        gt.steps_per_epoch(config, 100)
    # Each iteration's five critic batches are distinct images, and every image of an
    # epoch appears once; epsilons lie in [0, 1) per sample and critic step.
    pixels = gt.to_gan_input(_data(1000))
    batches = list(gt._dataset(pixels, 0, 2, dataclasses.replace(config, num_epochs=1)))
    real, z_d, z_g, epsilon = (t.numpy() for t in batches[0])
    assert real.shape == (32, 5, 784) and z_d.shape == (32, 5, 96)
    assert z_g.shape == (32, 96) and epsilon.shape == (32, 5, 1)
    assert 0 <= epsilon.min() and epsilon.max() < 1 and np.unique(epsilon).size == 160
    seen = np.concatenate([b[0].numpy().reshape(-1, 784) for b in batches])
    assert len(np.unique(seen, axis=0)) == 2 * 32 * 5
    gan = gt.build_gan("dcgan", noise_dim=96)
    with pytest.raises(ValueError, match=r"\bn_critic=5\b.*n_critic=1"):
        gt.train_gan(gan, _data(), config, verbose=0)


_MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]  # before TF initialises its devices
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from tfcs231n.gan import models as gan
    from tfcs231n.gan import training as gt

    data = np.random.default_rng(0).integers(0, 256, (256, 28, 28), dtype=np.uint8)

    def run(model, strategy):
        config = gt.GANConfig(model=model, batch_size=32, num_epochs=2, noise_dim=8,
                              steps_per_epoch=3)
        if model == "vanilla":  # the course's Adam solvers
            _, result = gt.train(config, data, strategy=strategy, verbose=0)
        else:  # DCGAN with plain SGD, see the test's docstring
            with strategy.scope():
                m = gan.GAN(gan.dc_discriminator(seed=0),
                            gan.dc_generator(8, seed=1, synchronized=True), 8)
                m.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
            result = gt.train_gan(m, data, config, strategy=strategy, verbose=0)
        return [result["history"]["d_loss"], result["history"]["g_loss"]]

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    try:  # a batch that two replicas cannot share evenly
        gt.train(gt.GANConfig(model="vanilla", batch_size=33), data, strategy=mirrored)
        refused = None
    except ValueError as e:
        refused = str(e)
    print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "refused": refused, **{
        model: [run(model, tf.distribute.get_strategy()), run(model, mirrored)]
        for model in ("vanilla", "dcgan")}}))
""")


def test_mirrored_strategy_gives_the_single_device_loss_curve():
    """Two logical CPUs under MirroredStrategy vs one device: same seeds, same curves.

    Checks the distributed path: noise drawn for the global batch then split, losses
    scaled by the replica count before the gradients are summed, and the DC generator's
    batch norm synchronized across replicas, as `train` builds it under several replicas
    (with per-replica statistics the very first loss already differed, by 5e-4). The
    single-device DCGAN uses synchronized batch norm too: its float32 variance,
    E[x^2] - E[x]^2, differs from plain batch norm's by round-off that six SGD steps grew
    to 1e-3 relative in the losses. The DCGAN runs with SGD: with Adam, single-device and
    mirrored runs agreed for two iterations and then drifted apart by up to 4e-3 relative;
    Adam divides each gradient element by its own running magnitude, so elements that are
    round-off (sums that batch norm makes cancel) become full-size steps, and the summation
    order of two half-batch gradients differs from one full-batch gradient.
    """
    from tfcs231n.parity.engine import TOLERANCES, compare_arrays

    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", _MIRRORED_SCRIPT], env=env, check=True,
                         capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert re.search(r"\bbatch_size=33\b.*\b2 replicas\b", result["refused"] or ""), result
    for model in ("vanilla", "dcgan"):
        single, mirrored = (np.array(curve) for curve in result[model])
        assert single.shape == (2, 6)
        row = compare_arrays(f"{model} losses", mirrored, single, TOLERANCES["float32"])
        assert row.ok, row
