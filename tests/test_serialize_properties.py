"""dense.serialize, property-based: what save writes, load reads back bit for bit; what load
would refuse, save refuses before touching the old file; corrupt files are a ValueError."""

import contextlib
import itertools
import json
import os
import re
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dense import Dense, LeakyReLU, ReLU, Sequential, Sigmoid, Softmax, Tanh, serialize
from dense.serialize import load_layers

# Derandomized: the same examples on every run; no deadline, which a busy machine would miss.
properties = settings(
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)

FLOAT_DTYPES = [np.float16, np.float32, np.float64, np.longdouble]
ACTIVATIONS = st.one_of(
    st.none(),
    st.sampled_from([ReLU, Sigmoid, Tanh, Softmax]).map(lambda cls: cls()),
    st.floats(min_value=0.0, max_value=10.0).map(LeakyReLU),
)
INITS = st.sampled_from(["normal", "xavier", "he", lambda rng, shape: np.zeros(shape)])


@st.composite
def models(draw):
    """A random architecture, dtype and activations, with arbitrary finite parameters."""
    widths = draw(st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=4))
    dtype = np.dtype(draw(st.sampled_from(FLOAT_DTYPES)))
    layers = []
    for k in range(len(widths) - 1):
        layer = Dense(widths[k], widths[k + 1], draw(ACTIVATIONS), init=draw(INITS), dtype=dtype)
        for name in ("weights", "biases"):
            current = getattr(layer, name)
            # every finite value the dtype holds: -0.0, subnormals, the largest
            values = st.floats(
                width=min(8 * dtype.itemsize, 64), allow_nan=False, allow_infinity=False
            )
            current[...] = draw(arrays(dtype, current.shape, elements=values))
        layers.append(layer)
    return Sequential(layers)


@contextlib.contextmanager
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def assert_identical(loaded, model):
    assert len(loaded.layers) == len(model.layers)
    for new, old in zip(loaded.layers, model.layers, strict=True):
        assert repr(new) == repr(old)
        assert (new.dtype, new.init) == (old.dtype, old.init if isinstance(old.init, str) else None)
        assert type(new.activation) is type(old.activation)
        assert vars(new.activation or ReLU()) == vars(old.activation or ReLU())
        for a, b in ((new.weights, old.weights), (new.biases, old.biases)):
            assert a.dtype == b.dtype
            assert a.shape == b.shape
            assert a.tobytes() == b.tobytes()  # bit for bit, -0.0 included


@properties
@given(model=models())
def test_what_save_writes_load_reads_back_bit_for_bit(model):
    with folder() as where:
        model.save(where / "m.npz")
        written = (where / "m.npz").read_bytes()
        assert_identical(Sequential.load(where / "m.npz"), model)
        model.save(where / "m.npz")
        assert (where / "m.npz").read_bytes() == written  # the same model, the same bytes


# --- corrupted layers: save refuses them, before touching the old file --------------------


def _set(attribute, value):
    return lambda layer: setattr(layer, attribute, value(layer) if callable(value) else value)


def _poke(attribute, value):
    def corrupt(layer):
        getattr(layer, attribute).flat[0] = value

    return corrupt


def _slope(value):
    def corrupt(layer):
        layer.activation = LeakyReLU(0.1)
        layer.activation.negative_slope = value

    return corrupt


class Cube:
    def forward(self, z):
        return z**3

    def backward(self, d_output):
        return d_output


OTHER_FLOAT = {np.float64: np.float32, np.float32: np.float64}
CORRUPTIONS = {
    # the two reproductions of the bug report
    "object weights": (
        _set("weights", lambda layer: np.array([object()], dtype=object)),
        ValueError,
        "dtype object",
    ),
    "weights of another shape": (
        _set("weights", lambda layer: np.zeros((5, 5), dtype=layer.dtype)),
        ValueError,
        r"has shape \(5, 5\)",
    ),
    # and every other way a layer's attributes can disagree with what load accepts
    "weights of another float dtype": (
        _set("weights", lambda layer: layer.weights.astype(OTHER_FLOAT[layer.dtype.type])),
        ValueError,
        "but layer",
    ),
    "integer weights": (
        _set("weights", lambda layer: layer.weights.astype(np.int64)),
        ValueError,
        "dtype int64",
    ),
    "complex weights": (
        _set("weights", lambda layer: layer.weights.astype(complex)),
        ValueError,
        "dtype complex128",
    ),
    "big-endian weights": (
        _set("weights", lambda layer: layer.weights.astype(layer.dtype.newbyteorder(">"))),
        ValueError,
        "but layer",
    ),
    "weights as a list": (
        _set("weights", lambda layer: layer.weights.tolist()),
        ValueError,
        "must be a numpy.ndarray, got <class 'list'>",
    ),
    "masked weights": (
        _set("weights", lambda layer: np.ma.masked_array(layer.weights)),
        ValueError,
        "must be a numpy.ndarray",
    ),
    "1-D biases": (_set("biases", lambda layer: layer.biases.ravel()), ValueError, "has shape"),
    "NaN weight": (_poke("weights", np.nan), ValueError, "weights holds NaN or infinite values"),
    "infinite bias": (_poke("biases", -np.inf), ValueError, "biases holds NaN or infinite values"),
    "input_size as text": (
        _set("input_size", "4"),
        ValueError,
        "input_size ('4'|must be a positive integer, got '4')",
    ),
    "input_size off by one": (
        _set("input_size", lambda layer: layer.input_size + 1),
        ValueError,
        "has shape|do not chain",
    ),
    "output_size zero": (_set("output_size", 0), ValueError, "output_size"),
    "integer dtype": (
        _set("dtype", np.dtype(np.int64)),
        ValueError,
        "dtype must name a floating dtype",
    ),
    "dtype as an object": (_set("dtype", object()), ValueError, "dtype must name a floating dtype"),
    "unknown init": (_set("init", "orthogonal"), ValueError, "unknown init 'orthogonal'"),
    "NaN slope": (_slope(float("nan")), ValueError, "negative_slope must be finite"),
    "negative slope": (_slope(-1.0), ValueError, "negative_slope must be >= 0.0"),
    "slope as text": (_slope("0.1"), ValueError, "negative_slope must be a number"),
    "custom activation": (_set("activation", Cube()), TypeError, "is not built in"),
    "activation class": (_set("activation", lambda layer: ReLU), TypeError, "is not built in"),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
@settings(derandomize=True, deadline=None, max_examples=10)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_save_refuses_a_corrupted_layer_and_keeps_the_old_file(kind, data, dtype):
    corrupt, error, message = CORRUPTIONS[kind]
    widths = data.draw(st.lists(st.integers(min_value=1, max_value=4), min_size=2, max_size=4))
    model = Sequential(
        Dense(a, b, Tanh(), rng=0, dtype=dtype) for a, b in itertools.pairwise(widths)
    )
    corrupt(model.layers[data.draw(st.integers(0, len(model.layers) - 1))])
    with folder() as where:
        path = where / "m.npz"
        path.write_bytes(b"the previous model")
        with pytest.raises(error) as info:
            model.save(path)
        assert re.search(message, str(info.value)), str(info.value)
        assert path.read_bytes() == b"the previous model"
        assert os.listdir(where) == ["m.npz"]


# np.savez turns these into plain arrays: no file can hold them, but a layer holding them
# is broken, and save refuses it all the same.
NOT_IN_A_FILE = {"weights as a list", "masked weights"}


@pytest.mark.parametrize(
    "kind",
    [
        kind
        for kind, (_, error, _) in CORRUPTIONS.items()
        if error is ValueError and kind not in NOT_IN_A_FILE
    ],
)
def test_load_refuses_what_save_refuses(tmp_path, kind):
    # The same corrupted layer, written without the check (np.savez pickles object arrays
    # and casts nothing): load_layers refuses the file as save_layers refused the layer.
    model = Sequential(Dense(3, 4, Tanh(), rng=0), Dense(4, 2, rng=1))
    CORRUPTIONS[kind][0](model.layers[1])
    architecture = {
        "format": serialize.FORMAT,
        "version": serialize.VERSION,
        "layers": [serialize._describe(k, layer) for k, layer in enumerate(model.layers)],
    }
    arrays = {
        f"{name}_{k}": getattr(layer, name)
        for k, layer in enumerate(model.layers)
        for name in ("weights", "biases")
    }
    path = tmp_path / "m.npz"
    np.savez(path, architecture=np.array(json.dumps(architecture, default=repr)), **arrays)
    with pytest.raises(ValueError, match="m.npz"):
        load_layers(path)


# --- corrupted files: load raises ValueError, or reads the model unchanged ----------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small saved model and its bytes."""
    model = Sequential(Dense(3, 4, LeakyReLU(0.2), init="he", rng=0), Dense(4, 2, Softmax(), rng=1))
    path = tmp_path_factory.mktemp("saved") / "m.npz"
    model.save(path)
    return model, path.read_bytes()


def load_bytes(data):
    """Load a model from these bytes; return it, or the ValueError load raised."""
    with folder() as where:
        (where / "m.npz").write_bytes(data)
        tracemalloc.start()
        try:
            return Sequential.load(where / "m.npz")
        except ValueError as error:
            return error
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < 1_000_000, f"loading {len(data)} bytes allocated {peak} bytes"


corruption_settings = settings(
    derandomize=True,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@corruption_settings
@given(data=st.data())
def test_a_corrupted_byte_is_a_value_error_or_changes_nothing(saved, data):
    model, original = saved
    position = data.draw(st.integers(0, len(original) - 1))
    flip = data.draw(st.integers(1, 255))
    corrupted = bytearray(original)
    corrupted[position] ^= flip
    result = load_bytes(bytes(corrupted))
    if not isinstance(result, ValueError):  # a byte zip does not read, such as a timestamp
        assert_identical(result, model)


@corruption_settings
@given(data=st.data())
def test_a_truncated_file_is_a_value_error(saved, data):
    _, original = saved
    length = data.draw(st.integers(0, len(original) - 1))
    assert isinstance(load_bytes(original[:length]), ValueError)


@corruption_settings
@given(data=st.data())
def test_random_bytes_spliced_in_are_a_value_error_or_change_nothing(saved, data):
    model, original = saved
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 64)))
    spliced = original[:start] + data.draw(st.binary(max_size=64)) + original[end:]
    result = load_bytes(spliced)
    if not isinstance(result, ValueError):
        assert_identical(result, model)
