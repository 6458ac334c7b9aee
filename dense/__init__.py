"""A fully connected neural-network layer in NumPy, derived and verified."""

from dense.activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from dense.gradcheck import (
    ActivationCheck,
    LayerCheck,
    check_activation,
    check_layer,
    numerical_gradient,
    relative_error,
)
from dense.layer import Dense
from dense.losses import MSE, Loss, SoftmaxCrossEntropy
from dense.sequential import Sequential

__version__ = "0.1.0"

__all__ = [
    "MSE",
    "Activation",
    "ActivationCheck",
    "Dense",
    "LayerCheck",
    "LeakyReLU",
    "Loss",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Tanh",
    "__version__",
    "check_activation",
    "check_layer",
    "numerical_gradient",
    "relative_error",
]
