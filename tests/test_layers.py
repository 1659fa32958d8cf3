"""Every layer describes itself, once: its description, its Keras config in and out, its ONNX
entry, and a prediction that keeps nothing on the layer.

EXAMPLES holds one built example of every layer type in the registry; a layer type added to nn
without one here fails the first test, so no type can skip these checks.
"""

import threading

import numpy as np
import pytest

from digitlens import nn
from digitlens.io.onnx_layers import ONNX_NODES
from digitlens.nn.layer import LAYERS, Description, snake_case
from digitlens.nn.summary import summary_text


def example_models():
    """{layer type: (a model holding one such layer, that layer)} covering every registered type."""
    models = {
        "Dense": nn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(7, "tanh")]),
        "Flatten": nn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(3, "softmax")]),
        "Dropout": nn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dropout(0.25), nn.Dense(3, "softmax")]),
        "InputLayer": nn.Sequential([nn.Input((28, 28)), nn.Flatten(), nn.Dense(3, "softmax")]),
        "Conv2D": nn.Sequential([nn.Conv2D(4, 3, strides=2, padding="same", activation="relu",
                                           input_shape=(28, 28, 1)), nn.Flatten(), nn.Dense(3, "softmax")]),
        "MaxPooling2D": nn.Sequential([nn.Conv2D(2, 3, input_shape=(28, 28, 1)), nn.MaxPooling2D(2),
                                       nn.Flatten(), nn.Dense(3, "softmax")]),
        "AveragePooling2D": nn.Sequential([nn.Reshape((28, 28, 1), input_shape=(28, 28)),
                                           nn.AveragePooling2D(3, strides=2, padding="same"), nn.Flatten(),
                                           nn.Dense(3, "softmax")]),
        "GlobalAveragePooling2D": nn.Sequential([nn.Conv2D(5, 3, input_shape=(28, 28, 1)),
                                                 nn.GlobalAveragePooling2D(), nn.Dense(3, "softmax")]),
        "BatchNormalization": nn.Sequential([nn.Conv2D(4, 3, input_shape=(28, 28, 1)), nn.BatchNormalization(),
                                             nn.Flatten(), nn.Dense(3, "softmax")]),
        "Reshape": nn.Sequential([nn.Reshape((28, 28, 1), input_shape=(784,)), nn.Conv2D(2, 5),
                                  nn.Flatten(), nn.Dense(3, "softmax")]),
    }
    found = {}
    for kind, model in models.items():
        model.build()
        layers = ([model.input_layer] if model.input_layer is not None else []) + model.layers
        found[kind] = (model, next(layer for layer in layers if layer.kind == kind))
    return found


EXAMPLES = example_models()


def test_every_registered_layer_has_an_example_and_an_onnx_entry():
    assert set(LAYERS) == set(EXAMPLES), "add an example of the new layer type to EXAMPLES"
    assert set(LAYERS) - {"InputLayer"} <= set(ONNX_NODES), "add the layer's ONNX nodes to io/onnx_layers.py"


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_a_layer_describes_itself(kind):
    model, layer = EXAMPLES[kind]
    d = layer.describe()
    assert isinstance(d, Description) and d.type == kind == layer.kind and d.name == layer.name
    assert d.count == layer.count_params() == sum(int(np.prod(s)) for s in layer.weight_shapes().values())
    assert d.arithmetic and d.label
    assert list(d.params) + list(d.state) == list(layer.weight_shapes()) == layer.weight_names()
    if d.count:                            # the sentence ends with the count it explains
        assert d.arithmetic.endswith(f"{d.count:,}")
    else:
        assert "no weights" in d.arithmetic or kind == "InputLayer"
    assert d.to_json()["count"] == d.count


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_a_layer_survives_its_own_keras_config(kind):
    _, layer = EXAMPLES[kind]
    config = layer.get_config()
    again = LAYERS[kind].from_config(config)
    assert again.get_config() == config
    assert type(again) is type(layer)


def test_unknown_config_keys_are_ignored_and_unsupported_values_named():
    config = {**nn.Dense(4, "relu", name="d").get_config(), "lora_rank": None, "quantization_config": None}
    assert nn.Dense.from_config(config).units == 4
    with pytest.raises(ValueError, match="uses the activation 'gelu'; digitlens has linear"):
        nn.Dense.from_config({**config, "activation": "gelu"})
    with pytest.raises(ValueError, match="channels_first"):
        nn.Flatten.from_config({"name": "f", "data_format": "channels_first"})


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_prediction_keeps_nothing_on_the_layers(kind):
    model, _ = EXAMPLES[kind]
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    before = {id(layer): dict(vars(layer)) for layer in model.layers}
    model.predict(x)
    model.activations(x)
    for layer in model.layers:
        after = vars(layer)
        assert after.keys() == before[id(layer)].keys(), f"{layer.name} kept {set(after) - set(before[id(layer)])}"
        assert all(after[k] is before[id(layer)][k] for k in after), layer.name


def test_threads_predict_at_once_without_a_lock(small_trained_model, mnist):
    _, (x_test, _) = mnist
    expected = small_trained_model.predict(x_test[:2000])
    results, errors = {}, []

    def worker(k):
        try:
            for _ in range(5):
                results[k] = small_trained_model.predict(x_test[:2000])
        except Exception as error:              # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for value in results.values():
        np.testing.assert_array_equal(value, expected)


def test_default_names_are_keras_names():
    assert [snake_case(k) for k in ("InputLayer", "Dense", "Conv2D", "MaxPooling2D", "BatchNormalization")] == [
        "input_layer", "dense", "conv2d", "max_pooling2d", "batch_normalization"]
    model = nn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(4), nn.Dense(3)])
    assert [layer.name for layer in model.layers] == ["flatten", "dense", "dense_1"]


def test_an_unbuilt_model_summarises_as_keras_does():
    """KERAS_FILES.md: an unbuilt Sequential prints `?` and `0 (unbuilt)` and Total params: 0."""
    model = nn.Sequential([nn.Flatten(), nn.Dense(256, "relu"), nn.Dense(10, "softmax")])
    text = summary_text(model)
    assert "│ dense (Dense)                   │ ?                      │   0 (unbuilt) │" in text
    assert " Total params: 0 (0.00 B)" in text and "Where the numbers come from" not in text


def test_sgd_means_plain_sgd_everywhere():
    from digitlens import recipes
    from digitlens.nn import optimizers

    recipe = recipes.get_recipe("lesson", optimizer="sgd")
    assert recipes.make_optimizer(recipe, 100).momentum == 0.0 == optimizers.get("sgd").momentum
    assert recipes.make_optimizer(recipes.get_recipe("lesson", optimizer="sgd", momentum=0.9), 100).momentum == 0.9
