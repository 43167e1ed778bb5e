"""NetworkVisualization-TensorFlow.ipynb (and net_visualization_tensorflow.py), cell by cell.

Offline there are no ImageNet weights or images: the course's SqueezeNet wraps the shipped
synthetic classifier (SqueezeNet 1.1 trained on the synthetic world), and its validation
scenes stand in for load_imagenet_val.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfcs231n.course.classifiers.squeezenet import NUM_CLASSES, SqueezeNet
from tfcs231n.course.image_utils import (SQUEEZENET_MEAN, SQUEEZENET_STD, deprocess_image,
                                         preprocess_image)
from tfcs231n.course.net_visualization_tensorflow import (blur_image,
                                                          class_visualization_update_step,
                                                          compute_saliency_maps, jitter,
                                                          make_fooling_image)
from tfcs231n.course.style_transfer_tensorflow import extract_features
from tfcs231n.visualization import saliency as native_saliency
from tfcs231n.visualization.squeezenet import extract_features as native_features
from tfcs231n.visualization.synthetic_classifier import classification_data, synthetic_classifier


@pytest.fixture(scope="module")
def course_model():
    native, info = synthetic_classifier(verbose=False)
    return SqueezeNet(model=native)


@pytest.fixture(scope="module")
def images():
    from tfcs231n.visualization.synthetic_classifier import ClassifierConfig

    X, y = classification_data(ClassifierConfig(), "val")[:2]
    return np.asarray(X[:5]), np.asarray(y[:5])


def test_course_squeezenet_has_net_and_num_classes(course_model, images):
    assert NUM_CLASSES == 1000
    assert len(course_model.net.layers) == 14  # 12 feature stages + classifier + pooling
    X = preprocess_image(images[0])
    course = extract_features(tf.constant(X), course_model)  # the course's walk of .net
    native = native_features(X, course_model.native)
    assert len(course) == 12
    for a, b in zip(course, native):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(course_model(X).numpy(), course_model.native(X).numpy())


def test_native_squeezenet_has_no_net():
    """The native model has no `.net` (the course's extract_features needs the course's
    SqueezeNet): an AttributeError, never a wrong feature list."""
    model, _ = synthetic_classifier(verbose=False)
    with pytest.raises(AttributeError):
        model.net


def test_saliency_maps(course_model, images):
    X, y = preprocess_image(images[0]), images[1]
    saliency = compute_saliency_maps(X, y, course_model)
    assert isinstance(saliency, np.ndarray) and saliency.shape == X.shape[:3]
    np.testing.assert_allclose(
        saliency, native_saliency.compute_saliency_maps(X, y, course_model.native), rtol=1e-6)


def test_fooling_image_is_the_image(course_model, images):
    X = preprocess_image(images[0])
    target_y = (int(images[1][0]) + 1) % int(course_model.num_classes)
    X_fooling = make_fooling_image(X[:1], target_y, course_model)  # the course's line
    scores = course_model(X_fooling)
    assert np.argmax(scores[0]) == target_y, "The network is not fooled!"
    assert deprocess_image(X_fooling[0]).shape == images[0].shape[1:]


def test_native_fooling_result_refuses_course_use(course_model, images):
    X = preprocess_image(images[0])
    target_y = (int(images[1][0]) + 1) % int(course_model.num_classes)
    result = native_saliency.make_fooling_image(X[:1], target_y, course_model.native)
    with pytest.raises(TypeError, match=r"tfcs231n\.course\.net_visualization_tensorflow"):
        result[0]
    with pytest.raises((TypeError, ValueError), match=r"tfcs231n\.course|FoolingResult"):
        course_model.native(result)  # Keras names the type before converting it
    X_fooling, steps = result  # the native call unpacks
    assert X_fooling.shape == X[:1].shape and steps >= 1


def test_class_visualization_step_and_helpers(course_model):
    X = 1.5 * np.random.default_rng(0).standard_normal((1, 64, 64, 3)).astype(np.float32)
    X = jitter(X, 3, 2)
    X = class_visualization_update_step(X, course_model, 2, l2_reg=1e-3, learning_rate=0.2)
    X = blur_image(X, sigma=0.5)
    assert isinstance(X, np.ndarray) and X.shape == (1, 64, 64, 3) and np.isfinite(X).all()


def test_image_utils_constants_and_round_trip():
    np.testing.assert_allclose(SQUEEZENET_MEAN, [0.485, 0.456, 0.406])
    np.testing.assert_allclose(SQUEEZENET_STD, [0.229, 0.224, 0.225])
    img = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    np.testing.assert_array_equal(deprocess_image(preprocess_image(img)), img)
