"""Peak extra memory of one layer step, measured with :mod:`tracemalloc`.

NumPy reports every array buffer it allocates to ``tracemalloc``, so the peak
traced size during a step, minus the size before it, is the extra memory the step
needs. The layer holds the previous step's output and gradients when a step
starts (as it does in training), and we compare the peak with what the step must
produce anyway.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from benchmarks.layer_step import LEARNING_RATE, LayerCase
from dense import Dense, ReLU

__all__ = ["SLACK_BYTES", "measure_memory"]

# Allowed on top of the arrays themselves: a broadcasting ufunc such as ``z += b``
# copies the broadcast operand through NumPy's iteration buffer (8192 elements,
# 64 KiB in float64, whatever the batch), and Python objects take a few hundred bytes.
SLACK_BYTES = 8192 * 8 + 4096


def _peak_of(fn) -> int:
    """Bytes allocated at the peak of ``fn()``, above what was allocated before."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    fn()
    return tracemalloc.get_traced_memory()[1] - before


def measure_memory(case: LayerCase, rng: np.random.Generator) -> dict:
    """Return the peak extra bytes of forward, backward and the whole step.

    The *budget* is what a step cannot avoid allocating when it returns fresh
    arrays: the gradients ``d_weights`` and ``d_biases``, ``d_input``, one
    temporary for the update ``learning_rate * d_weights`` (and its bias
    counterpart), and, with an activation, \u03b4 = dL/dz of shape ``(B, out)``.
    The forward pass is budgeted separately: its output, plus ``z`` when an
    activation turns ``z`` into a new array. Both budgets include
    :data:`SLACK_BYTES`, a constant independent of the shape.

    Parameters
    ----------
    case : LayerCase
        The configuration.
    rng : numpy.random.Generator
        Source of the data.

    Returns
    -------
    dict
        Byte counts and ``within_budget`` for the forward and backward passes.
    """
    x, d_output, weights = case.data(rng)
    layer = Dense(case.inputs, case.outputs, ReLU() if case.relu else None, rng=0, dtype=case.dtype)
    layer.weights[...] = weights
    item = np.dtype(case.dtype).itemsize
    B, n_in, n_out = case.batch, case.inputs, case.outputs
    gradients = (n_in * n_out + n_out) * item
    d_input = B * n_in * item
    update_temporary = (n_in * n_out + n_out) * item
    delta = B * n_out * item if case.relu else 0
    z_and_output = B * n_out * item * (2 if case.relu else 1)

    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    try:
        # A step in training starts with the previous step's arrays alive. They must be
        # allocated while tracing: freeing a block tracemalloc never saw subtracts nothing.
        layer.forward(x)
        layer.backward(d_output, LEARNING_RATE)
        forward = _peak_of(lambda: layer.forward(x))
        backward = _peak_of(lambda: layer.backward(d_output, LEARNING_RATE))

        def step() -> None:
            layer.forward(x)
            layer.backward(d_output, LEARNING_RATE)

        whole = _peak_of(step)
    finally:
        if not started:
            tracemalloc.stop()
    forward_budget = z_and_output + SLACK_BYTES
    backward_budget = gradients + d_input + update_temporary + delta + SLACK_BYTES
    return {
        "batch": B,
        "inputs": n_in,
        "outputs": n_out,
        "dtype": case.dtype,
        "activation": "relu" if case.relu else "none",
        "gradient_bytes": gradients,
        "d_input_bytes": d_input,
        "forward_peak_bytes": forward,
        "forward_budget_bytes": forward_budget,
        "backward_peak_bytes": backward,
        "backward_budget_bytes": backward_budget,
        "step_peak_bytes": whole,
        "step_peak_over_gradients": whole / gradients,
        "within_budget": forward <= forward_budget and backward <= backward_budget,
    }
