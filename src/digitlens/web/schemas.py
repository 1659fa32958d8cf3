"""The JSON bodies the API accepts, with their limits, and the errors it answers with; FastAPI turns
these into the OpenAPI schema.

A digit comes either as a picture (`image`: a PNG/JPEG file, base64 or a data URL) that is prepared
the MNIST way, or as `pixels`: 784 values 0-255 of a digit that is already prepared.

Every error is {"detail": "one line"}, whatever its status: `errors(409, 422)` documents those a
route sends. Every route may also answer 403 (a request for another host, or from another site)
and 413 (a body over its size limit), which guard.py sends before the route is reached; app.py
adds those to every operation of the schema.
"""

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema, model_validator

MAX_IMAGE_TEXT = 11_200_000   # 8 MB of file, base64-encoded, plus a data-URL header

def _json_number(value):
    """Numbers as JSON Schema counts them: 3.0 is the integer 3, but true and "3" are no numbers
    (pydantic's lax mode would take them; its strict mode would refuse 3.0)."""
    if isinstance(value, (bool, str, bytes)):
        raise ValueError("expected a number")
    return value


Whole = Annotated[int, BeforeValidator(_json_number)]
Number = Annotated[float, BeforeValidator(_json_number)]

_PIXEL = {"type": "number", "minimum": 0, "maximum": 255}
# What `pixels` accepts, as the schema says it: digits.from_pixels checks it, with one clear line
# for whatever is wrong ("received shape (28, 29)") where pydantic would list every alternative.
PIXELS = Annotated[list[Any], WithJsonSchema({
    "description": "an already prepared digit: 784 values 0-255, or 28 rows of 28",
    "anyOf": [{"type": "array", "items": _PIXEL, "minItems": 784, "maxItems": 784},
              {"type": "array", "minItems": 28, "maxItems": 28,
               "items": {"type": "array", "items": _PIXEL, "minItems": 28, "maxItems": 28}}]})]


class Error(BaseModel):
    """What every error response holds."""

    detail: str = Field(..., description="one line: what was expected and what was received")


ERROR_MEANINGS = {
    400: "a value out of range for the current model (a neuron or class it does not have)",
    403: "the request named another host, or came from another site",
    404: "there is no such thing (a test image past the end of the test set)",
    409: "the request is fine but the app cannot answer it now (no model yet, no data, a job running)",
    413: "the request body is larger than this route accepts",
    422: "the request or the file it carries is not usable (wrong shape, not an image, damaged model file)",
    429: "the server is busy with as much of this as it takes at once: try again in a moment",
}


def errors(*statuses):
    """The `responses=` of a route: each status it may answer with, as an Error."""
    return {status: {"model": Error, "description": ERROR_MEANINGS[status]} for status in statuses}


class Digit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: Optional[str] = Field(None, min_length=1, max_length=MAX_IMAGE_TEXT,
                                 description="a picture of one digit: PNG/JPEG/... bytes as base64 or a data URL")
    pixels: Optional[PIXELS] = Field(None, max_length=784)

    @model_validator(mode="after")
    def one_source(self):
        if (self.image is None) == (self.pixels is None):
            raise ValueError("send exactly one of 'image' (a picture) or 'pixels' (784 values 0-255)")
        return self


class PreparedDigit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pixels: PIXELS = Field(..., max_length=784)


class NeuronQuestion(PreparedDigit):
    neuron: Whole = Field(..., ge=0, description="a neuron of hidden layer `layer`, from 0")
    layer: Whole = Field(0, ge=0, le=64, description="which hidden layer: 0 is the first (wired to the pixels)")


class OutputQuestion(PreparedDigit):
    output: Whole = Field(..., ge=0, description="an output (class), from 0")
    top: Whole = Field(10, ge=1, le=64, description="how many of the strongest pushes up and down to list")


class BackpropStep(PreparedDigit):
    label: Whole = Field(..., ge=0, description="the right answer for this digit")
    optimizer: Literal["model", "sgd", "adam", "rmsprop"] = Field(
        "model", description="model: the model's own optimizer and its state (plain SGD if it has none)")
    # An optional number's bounds go on the number itself, before its validator, or the schema
    # would carry pydantic's own "ge"/"le" words, which JSON Schema does not know.
    learning_rate: Optional[Annotated[float, Field(gt=0, le=10), BeforeValidator(_json_number)]] = Field(
        None, description="overrides the optimizer's rate")
    steps: Whole = Field(1, ge=1, le=200, description="steps in a row on this digit; the answer is about the last")


class HiddenLayer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: Whole = Field(..., ge=1, le=2048, description="neurons in this hidden layer")
    activation: Literal["relu", "sigmoid", "tanh", "linear"] = "relu"


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden_units: Whole = Field(256, ge=1, le=2048, description="neurons in the hidden layer")
    activation: Literal["relu", "sigmoid", "tanh", "linear"] = "relu"
    hidden: Optional[list[HiddenLayer]] = Field(
        None, min_length=1, max_length=4,
        description="several hidden layers, first to last (instead of hidden_units and activation)")
    recipe: Literal["lesson", "default"] = Field(
        "lesson", description="lesson: Adam, constant rate; default: warm-up then cosine decay of the rate")
    timeline: StrictBool = Field(True, description="record the training timeline (snapshots at steps 0, 1, 2, 5, "
                                 "10, ...) to replay afterwards: GET /api/timeline")
    epochs: Whole = Field(1, ge=1, le=50)
    batch_size: Whole = Field(32, ge=1, le=4096)
    optimizer: Literal["adam", "sgd", "rmsprop"] = "adam"
    learning_rate: Number = Field(0.001, gt=0, le=10)
    momentum: Number = Field(0.0, ge=0, lt=1, description="sgd only: 0 is plain SGD, as in Keras")
    samples: Whole = Field(60000, ge=100, le=60000, description="how many training images to use, from the first")
    seed: Optional[Annotated[int, Field(ge=0, le=2**31 - 1), BeforeValidator(_json_number)]] = Field(
        None, description="random seed; none picks one")
