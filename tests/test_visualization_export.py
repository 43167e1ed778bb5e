"""export_classifier: the SavedModel, reloaded in a fresh process, gives the in-memory numbers."""

import json
import subprocess
import sys
import textwrap

import numpy as np

from tfcs231n.parity import engine as parity
from tfcs231n.visualization import saliency as visualization
from tfcs231n.visualization.squeezenet import SqueezeNet, preprocess_image
from tfcs231n.visualization.synthetic_classifier import initialise_for_training

RELOAD = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    images = tf.constant(np.load(sys.argv[2]))
    labels = tf.constant([1, 4, 0], tf.int32)
    probs = loaded.signatures["serving_default"](images=images)["probabilities"]
    sal = loaded.signatures["saliency"](images=images, labels=labels)["saliency"]
    print(json.dumps({"probabilities": probs.numpy().tolist(), "saliency": sal.numpy().tolist()}))
""")


def test_classifier_and_saliency_signatures_round_trip(tmp_path):
    model = SqueezeNet(num_classes=5, input_shape=(48, 48, 3))
    initialise_for_training(model, seed=3)
    images = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 3), dtype=np.uint8)
    visualization.export_classifier(model, tmp_path / "clf", image_size=48)
    np.save(tmp_path / "x.npy", images)
    result = subprocess.run([sys.executable, "-c", RELOAD, str(tmp_path / "clf"),
                             str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    X = preprocess_image(images)
    scores = model(X, training=False).numpy()
    expected = np.exp(scores - scores.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    saliency = visualization.compute_saliency_maps(X, np.array([1, 4, 0]), model).numpy()
    # The graph preprocesses with TF ops, the in-memory path with NumPy: float32 policy.
    rows = [parity.compare_arrays(name, out[name], want, parity.TOLERANCES["float32"])
            for name, want in (("probabilities", expected), ("saliency", saliency))]
    assert all(r.ok for r in rows), parity.format_table([parity.ParityReport("export", "float32", rows)])
    assert np.asarray(out["saliency"]).shape == (3, 48, 48) and saliency.max() > 0
