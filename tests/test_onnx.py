"""ONNX export, checked with onnx.checker and run with onnxruntime on the real MNIST test set."""

import numpy as np
import pytest

import onnx
import onnxruntime as ort

from digitlens import io  # noqa: E402
from digitlens.errors import ModelFileError  # noqa: E402
from digitlens import nn  # noqa: E402
from digitlens.nn import Dense, Dropout, Flatten, Sequential, lesson_model  # noqa: E402


@pytest.fixture(scope="module")
def test_images(mnist):
    (x_train, y_train), (x_test, _) = mnist
    return x_train[:512], y_train[:512], x_test


def briefly_trained(model, test_images):
    x, y, _ = test_images
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    return model


def run(path, images):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images})[0]


def test_lesson_model_exports_and_runs_like_digitlens(test_images, tmp_path):
    model = briefly_trained(lesson_model(seed=0), test_images)
    path = tmp_path / "mnist.onnx"
    io.export_onnx(model, path)

    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    assert proto.ir_version == 8
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 13)]
    assert [n.op_type for n in proto.graph.node] == ["Flatten", "Gemm", "Relu", "Gemm", "Softmax"]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 28, 28]
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    kernel = next(t for t in proto.graph.initializer if t.name == "dense_kernel")
    assert list(kernel.dims) == [784, 256]                   # Keras's (inputs, units), as is

    x_test = test_images[2]
    images = x_test.astype(np.float32) / 255.0                # all 10,000 test images
    np.testing.assert_allclose(run(path, images), model.predict(x_test), atol=1e-5)
    for batch in (1, 7):                                      # the batch size is left open
        np.testing.assert_allclose(run(path, images[:batch]), model.predict(x_test[:batch]), atol=1e-5)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "linear"])
def test_other_activations_dropout_and_two_hidden_layers(hidden, test_images, tmp_path):
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(64, hidden), Dropout(0.3),
                        Dense(32, "relu"), Dense(10, "softmax")], seed=1)
    model = briefly_trained(model, test_images)
    path = tmp_path / "model.onnx"
    io.export_onnx(model, path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    ops = [n.op_type for n in proto.graph.node]
    expected = {"sigmoid": ["Sigmoid"], "tanh": ["Tanh"], "linear": []}[hidden]
    assert ops == ["Flatten", "Gemm", *expected, "Gemm", "Relu", "Gemm", "Softmax"]   # no Dropout

    x_test = test_images[2]
    np.testing.assert_allclose(run(path, x_test.astype(np.float32) / 255.0), model.predict(x_test),
                               atol=1e-5)


def test_the_course_cnn_exports_with_one_transpose_each_way(test_images, tmp_path):
    model = briefly_trained(nn.cnn_model(seed=0), test_images)
    path = tmp_path / "cnn.onnx"
    io.export_onnx(model, path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    # Keras's channels-last images turn channels first for Conv and MaxPool, and back before
    # Flatten, so the 5,408 values reach the Dense kernel in Keras's (row, column, channel) order.
    assert [n.op_type for n in proto.graph.node] == [
        "Transpose", "Conv", "Relu", "MaxPool", "Transpose", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 28, 28, 1]
    kernel = next(t for t in proto.graph.initializer if t.name == "conv2d_kernel")
    assert list(kernel.dims) == [32, 1, 3, 3]                # ONNX's (filters, channels, KH, KW)

    x_test = test_images[2]
    images = (x_test.astype(np.float32) / 255.0)[..., None]   # all 10,000 real test images
    np.testing.assert_allclose(run(path, images), model.predict(x_test), atol=1e-5)
    np.testing.assert_allclose(run(path, images[:1]), model.predict(x_test[:1]), atol=1e-5)


CONV_MODELS = {
    "same, strides, batch norm, average and global pooling": lambda: Sequential([
        nn.Reshape((28, 28, 1), input_shape=(28, 28)), nn.Conv2D(6, 5, strides=2, padding="same", activation="tanh"),
        nn.BatchNormalization(), nn.AveragePooling2D(3, strides=2, padding="same"), nn.Conv2D(8, 3, activation="relu"),
        nn.MaxPooling2D(2, padding="same"), nn.GlobalAveragePooling2D(), nn.Dense(10, "softmax")], seed=2),
    "flat input, batch norm after Dense, reshape": lambda: Sequential([
        Flatten(input_shape=(28, 28)), Dense(64, "relu"), nn.BatchNormalization(), nn.Reshape((8, 8, 1)),
        nn.Conv2D(4, 3, padding="same", use_bias=False), nn.BatchNormalization(center=False),
        nn.MaxPooling2D(3, strides=1), Flatten(), Dense(10, "softmax")], seed=3),
    "global pooling keeping its axes": lambda: Sequential([
        nn.Conv2D(4, 3, input_shape=(28, 28, 1), activation="relu"), nn.GlobalAveragePooling2D(keepdims=True),
        nn.Reshape((4,)), Dense(10, "softmax")], seed=4),
}


@pytest.mark.parametrize("name", CONV_MODELS)
def test_convolutional_models_run_in_onnxruntime_as_in_digitlens(name, test_images, tmp_path):
    model = briefly_trained(CONV_MODELS[name](), test_images)
    for layer in model.layers:                # training moved BatchNormalization's statistics from 0 and 1
        if "moving_mean" in layer.state_shapes():
            assert np.abs(layer.moving_variance - 1).max() > 1e-3 or np.abs(layer.moving_mean).max() > 1e-3
    path = tmp_path / "model.onnx"
    io.export_onnx(model, path)
    onnx.checker.check_model(onnx.load(path))
    x_test = test_images[2][:2000]
    images = (x_test.astype(np.float32) / 255.0).reshape((len(x_test), *model.input_shape))
    np.testing.assert_allclose(run(path, images), model.predict(x_test), atol=1e-5)


def test_export_into_a_missing_directory_is_one_line(tmp_path):
    target = tmp_path / "missing" / "model.onnx"
    with pytest.raises(ModelFileError, match="does not exist") as info:
        io.export_onnx(lesson_model(seed=0).build(), target)
    assert "\n" not in str(info.value) and str(target) in str(info.value)
