"""Helpers shared by the package's test modules (importable as ``helpers``)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import settings

from dense import Dense, Sequential, Tanh

# The same examples on every run and every machine, and no per-example deadline, which
# a busy machine would miss.
reproducible = settings(derandomize=True, deadline=None, max_examples=40)


def mlp(sizes, activation=Tanh, seed=0, **kwargs):
    """A Sequential of Dense layers of these widths; every layer but the last gets an activation."""
    rng = np.random.default_rng(seed)
    layers = [
        Dense(a, b, activation() if k < len(sizes) - 2 else None, rng=rng, **kwargs)
        for k, (a, b) in enumerate(itertools.pairwise(sizes))
    ]
    return Sequential(layers)


def parameters(model):
    """Copies of every weight and bias array of a model, first layer first."""
    return [p.copy() for layer in model.layers for p in (layer.weights, layer.biases)]


def assert_same_parameters(model, saved):
    for now, before in zip(parameters(model), saved, strict=True):
        np.testing.assert_array_equal(now, before)
