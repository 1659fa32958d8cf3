"""The JSON bodies the API accepts, with their limits; FastAPI turns these into the OpenAPI schema.

A digit comes either as a picture (`image`: a PNG/JPEG file, base64 or a data URL) that is prepared
the MNIST way, or as `pixels`: 784 values 0-255 of a digit that is already prepared.
"""

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_IMAGE_TEXT = 11_200_000   # 8 MB of file, base64-encoded, plus a data-URL header


class Digit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: Optional[str] = Field(None, max_length=MAX_IMAGE_TEXT,
                                 description="a picture of one digit: PNG/JPEG/... bytes as base64 or a data URL")
    pixels: Optional[list[Any]] = Field(None, max_length=784,
                                        description="an already prepared digit: 784 values 0-255, or 28 rows of 28")

    @model_validator(mode="after")
    def one_source(self):
        if (self.image is None) == (self.pixels is None):
            raise ValueError("send exactly one of 'image' (a picture) or 'pixels' (784 values 0-255)")
        return self


class PreparedDigit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pixels: list[Any] = Field(..., max_length=784, description="the prepared digit: 784 values 0-255, or 28 rows of 28")


class NeuronQuestion(PreparedDigit):
    neuron: int = Field(..., ge=0, description="a neuron of hidden layer `layer`, from 0")
    layer: int = Field(0, ge=0, le=64, description="which hidden layer: 0 is the first (wired to the pixels)")


class OutputQuestion(PreparedDigit):
    output: int = Field(..., ge=0, description="an output (class), from 0")
    top: int = Field(10, ge=1, le=64, description="how many of the strongest pushes up and down to list")


class BackpropStep(PreparedDigit):
    label: int = Field(..., ge=0, description="the right answer for this digit")
    optimizer: Literal["model", "sgd", "adam", "rmsprop"] = Field(
        "model", description="model: the model's own optimizer and its state (plain SGD if it has none)")
    learning_rate: Optional[float] = Field(None, gt=0, le=10, description="overrides the optimizer's rate")
    steps: int = Field(1, ge=1, le=200, description="steps in a row on this digit; the answer is about the last")


class HiddenLayer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: int = Field(..., ge=1, le=2048, description="neurons in this hidden layer")
    activation: Literal["relu", "sigmoid", "tanh", "linear"] = "relu"


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden_units: int = Field(256, ge=1, le=2048, description="neurons in the hidden layer")
    activation: Literal["relu", "sigmoid", "tanh", "linear"] = "relu"
    hidden: Optional[list[HiddenLayer]] = Field(
        None, min_length=1, max_length=4,
        description="several hidden layers, first to last (instead of hidden_units and activation)")
    recipe: Literal["lesson", "default"] = Field(
        "lesson", description="lesson: Adam, constant rate; default: warm-up then cosine decay of the rate")
    epochs: int = Field(1, ge=1, le=50)
    batch_size: int = Field(32, ge=1, le=4096)
    optimizer: Literal["adam", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(0.001, gt=0, le=10)
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd only: 0 is plain SGD, as in Keras")
    samples: int = Field(60000, ge=100, le=60000, description="how many training images to use, from the first")
    seed: Optional[int] = Field(None, ge=0, le=2**31 - 1, description="random seed; none picks one")
