"""Saving and loading models: round trips, refused files, and atomic writes."""

import io
import json
import os
import re
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest

from dense import MSE, Dense, LeakyReLU, ReLU, Sequential, Sigmoid, Softmax, Tanh, serialize
from dense.serialize import FORMAT, VERSION, load_layers, save_layers


def trained_model(dtype=np.float64):
    rng = np.random.default_rng(0)
    model = Sequential(
        [
            Dense(4, 6, LeakyReLU(0.25), init="he", rng=rng, dtype=dtype),
            Dense(6, 5, Tanh(), init="xavier", rng=rng, dtype=dtype),
            Dense(5, 3, Sigmoid(), rng=rng, dtype=dtype),
            Dense(3, 3, Softmax(), rng=rng, dtype=dtype),
            Dense(3, 2, rng=rng, dtype=dtype),
        ]
    )
    x, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 2))
    model.fit(x, y, MSE(), epochs=3, batch_size=8, learning_rate=0.1, rng=rng, progress=False)
    return model


def write_npz(path, architecture, arrays):
    """A hand-made file in our layout, to be corrupted in one specific way."""
    np.savez(path, architecture=np.array(json.dumps(architecture)), **arrays)


def valid_contents():
    model = Sequential([Dense(3, 2, ReLU(), rng=0), Dense(2, 1, rng=1)])
    architecture = {
        "format": FORMAT,
        "version": VERSION,
        "layers": [
            {
                "input_size": 3,
                "output_size": 2,
                "activation": {"name": "ReLU"},
                "init": "normal",
                "dtype": "float64",
            },
            {
                "input_size": 2,
                "output_size": 1,
                "activation": None,
                "init": "normal",
                "dtype": "float64",
            },
        ],
    }
    arrays = {}
    for k, layer in enumerate(model.layers):
        arrays[f"weights_{k}"] = layer.weights
        arrays[f"biases_{k}"] = layer.biases
    return architecture, arrays


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    model = trained_model(dtype)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Sequential.load(path)
    assert isinstance(loaded, Sequential)
    x = np.random.default_rng(1).normal(size=(10, 4))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.predict(x).dtype == dtype
    for new, old in zip(loaded.layers, model.layers, strict=True):
        assert repr(new) == repr(old)
        assert new.dtype == old.dtype
        assert new.init == old.init
        assert new.weights.dtype == dtype
        np.testing.assert_array_equal(new.weights, old.weights)
        np.testing.assert_array_equal(new.biases, old.biases)
        assert type(new.activation) is type(old.activation)


def test_leaky_relu_slope_survives(tmp_path):
    model = Sequential([Dense(2, 2, LeakyReLU(negative_slope=0.37), rng=0)])
    model.save(tmp_path / "m.npz")
    assert Sequential.load(tmp_path / "m.npz").layers[0].activation.negative_slope == 0.37


def test_a_loaded_model_trains_on_like_the_original(tmp_path):
    model = trained_model()
    model.save(tmp_path / "m.npz")
    loaded = Sequential.load(tmp_path / "m.npz")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    kwargs = {"epochs": 2, "batch_size": 4, "learning_rate": 0.1, "rng": 3, "progress": False}
    assert loaded.fit(x, y, MSE(), **kwargs) == model.fit(x, y, MSE(), **kwargs)


def test_a_custom_initializer_is_recorded_as_none(tmp_path):
    model = Sequential([Dense(2, 2, init=lambda rng, shape: np.ones(shape))])
    model.save(tmp_path / "m.npz")
    layer = Sequential.load(tmp_path / "m.npz").layers[0]
    assert layer.init is None
    np.testing.assert_array_equal(layer.weights, np.ones((2, 2)))


def test_the_file_is_a_plain_npz_with_json_architecture(tmp_path):
    path = tmp_path / "model"  # no suffix: the name is used as given
    Sequential([Dense(3, 2, LeakyReLU(0.5), init="he", rng=0)]).save(path)
    assert os.listdir(tmp_path) == ["model"]
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["architecture.npy", "biases_0.npy", "weights_0.npy"]
    with np.load(path, allow_pickle=False) as data:
        architecture = json.loads(str(data["architecture"]))
    assert architecture == {
        "format": "dense.Sequential",
        "version": 1,
        "layers": [
            {
                "input_size": 3,
                "output_size": 2,
                "activation": {"name": "LeakyReLU", "negative_slope": 0.5},
                "init": "he",
                "dtype": "float64",
            }
        ],
    }


def test_save_and_load_layers_work_on_plain_lists(tmp_path):
    layers = [Dense(3, 2, rng=0)]
    save_layers(layers, tmp_path / "m.npz")
    (loaded,) = load_layers(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.weights, layers[0].weights)


def test_a_new_file_gets_ordinary_permissions_and_a_replaced_file_keeps_its_own(tmp_path):
    path = tmp_path / "m.npz"
    model = Sequential([Dense(2, 2, rng=0)])
    model.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0600
    path.chmod(0o600)
    model.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- refused saves ------------------------------------------------------------------------


class Cube:
    def forward(self, z):
        self.z = z
        return z**3

    def backward(self, d_output):
        return 3 * self.z**2 * d_output


class ReLUWithATwist(ReLU):
    pass


@pytest.mark.parametrize("activation", [Cube(), ReLUWithATwist()])
def test_save_refuses_custom_activations_before_writing(tmp_path, activation):
    path = tmp_path / "m.npz"
    path.write_bytes(b"previous content")
    model = Sequential([Dense(2, 2, rng=0), Dense(2, 2, activation, rng=0)])
    with pytest.raises(TypeError, match=r"cannot save layer 1: its activation \w+ is not built in"):
        model.save(path)
    assert path.read_bytes() == b"previous content"
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.parametrize(
    ("corrupted", "message"),
    [
        (np.array([object()], dtype=object), r"weights_0 has shape \(1,\) and dtype object"),
        (np.zeros((5, 5)), r"weights_0 has shape \(5, 5\) .* needs shape \(4, 3\)"),
    ],
    ids=["object-array", "wrong-shape"],
)
def test_save_refuses_before_writing_what_load_would_refuse(tmp_path, corrupted, message):
    path = tmp_path / "m.npz"
    model = Sequential(Dense(4, 3, rng=0), Dense(3, 2, rng=1))
    model.save(path)
    good = path.read_bytes()
    model.layers[0].weights = corrupted
    with pytest.raises(ValueError, match=f"cannot save {re.escape(str(path))}: {message}"):
        model.save(path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["m.npz"]
    assert Sequential.load(path).layers[0].weights.shape == (4, 3)


def test_the_same_model_always_gives_the_same_bytes(tmp_path):
    trained_model().save(tmp_path / "a.npz")
    trained_model().save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_the_writer_refuses_to_pickle(tmp_path):
    with pytest.raises(ValueError, match="allow_pickle=False"):
        serialize._write_npz(io.BytesIO(), {"weights_0": np.array([object()], dtype=object)})


def test_a_compressed_archive_is_refused(tmp_path):
    architecture, arrays = valid_contents()
    np.savez_compressed(
        tmp_path / "m.npz", architecture=np.array(json.dumps(architecture)), **arrays
    )
    with pytest.raises(ValueError, match="entry 'architecture.npy' is compressed or encrypted"):
        Sequential.load(tmp_path / "m.npz")


def test_a_header_claiming_a_huge_array_is_refused_without_allocating_it(tmp_path):
    architecture, arrays = valid_contents()
    path = tmp_path / "m.npz"
    write_npz(path, architecture, arrays)
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    header = entries["weights_0.npy"]
    entries["weights_0.npy"] = header.replace(b"(3, 2)", b"(10000000000, 2)")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    tracemalloc.start()
    try:
        with pytest.raises(
            ValueError, match=r"weights_0.npy has a header for shape \(10000000000, 2\)"
        ):
            Sequential.load(path)
        assert tracemalloc.get_traced_memory()[1] < 1_000_000
    finally:
        tracemalloc.stop()


def test_save_layers_refuses_non_layers(tmp_path):
    with pytest.raises(TypeError, match=r"layers\[0\] must be a dense.Dense, got str"):
        save_layers(["not a layer"], tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("layers", [[], [Dense(2, 3, rng=0), Dense(2, 1, rng=0)]])
def test_save_layers_refuses_what_load_would_refuse(tmp_path, layers):
    with pytest.raises(
        ValueError, match="at least one dense.Dense|layers\\[0\\] has output_size 3 but"
    ):
        save_layers(layers, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_saving_to_a_folder_names_the_folder(tmp_path):
    model = Sequential([Dense(2, 2, rng=0)])
    (tmp_path / "runs").mkdir()
    with pytest.raises(IsADirectoryError, match=re.escape(f"{tmp_path / 'runs'} is a folder")):
        model.save(tmp_path / "runs")
    assert os.listdir(tmp_path / "runs") == []
    assert os.listdir(tmp_path) == ["runs"]  # no temporary file left next to it either


def test_save_into_a_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        Sequential([Dense(2, 2, rng=0)]).save(tmp_path / "nowhere" / "m.npz")
    assert os.listdir(tmp_path) == []


# --- atomic writes ------------------------------------------------------------------------


@pytest.fixture
def existing(tmp_path):
    path = tmp_path / "model.npz"
    Sequential([Dense(3, 2, rng=0)]).save(path)
    return path, path.read_bytes()


def test_a_write_failing_half_way_keeps_the_old_file(monkeypatch, existing):
    path, before = existing

    def half_write(file, arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialize, "_write_npz", half_write)
    with pytest.raises(OSError, match="No space left"):
        Sequential([Dense(3, 2, rng=1)]).save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]


def test_a_failing_rename_keeps_the_old_file(monkeypatch, existing):
    path, before = existing

    def broken_replace(source, target):
        raise PermissionError("rename refused")

    monkeypatch.setattr(serialize.os, "replace", broken_replace)
    with pytest.raises(PermissionError, match="rename refused"):
        Sequential([Dense(3, 2, rng=1)]).save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]


def test_an_interrupt_during_the_write_keeps_the_old_file(monkeypatch, existing):
    path, before = existing

    def interrupted(file):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialize.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Sequential([Dense(3, 2, rng=1)]).save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]


def test_a_successful_save_replaces_the_old_file(existing):
    path, before = existing
    Sequential([Dense(3, 2, rng=1)]).save(path)
    assert path.read_bytes() != before
    assert os.listdir(path.parent) == ["model.npz"]


# --- refused files ------------------------------------------------------------------------


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        Sequential.load(tmp_path / "absent.npz")


def test_a_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello, not a model\n")
    with pytest.raises(ValueError, match=r"notes.npz is not a readable dense model file"):
        Sequential.load(path)


def test_a_text_file_is_not_called_pickled(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello, not a model\n")
    with pytest.raises(ValueError, match="it is not an .npz archive") as info:
        Sequential.load(path)
    assert "pickle" not in str(info.value)


def test_a_single_npy_array_is_refused(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match=r"array.npy .*single array, not an .npz archive"):
        Sequential.load(path)


def test_an_npz_without_architecture_is_not_ours(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.ones((2, 2)))
    with pytest.raises(
        ValueError, match=r"other.npz is not a dense model file: it has no 'architecture'"
    ):
        Sequential.load(path)


def test_another_format_marker_is_not_ours(tmp_path):
    architecture, arrays = valid_contents()
    architecture["format"] = "keras.Sequential"
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(
        ValueError,
        match=r"not a dense model file: format 'keras.Sequential', expected 'dense.Sequential'",
    ):
        Sequential.load(tmp_path / "m.npz")


def test_a_newer_version_is_refused(tmp_path):
    architecture, arrays = valid_contents()
    architecture["version"] = VERSION + 1
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(ValueError, match=r"format version 2; this version of dense reads 1 to 1"):
        Sequential.load(tmp_path / "m.npz")


def test_sizes_in_the_header_are_checked_against_the_arrays_before_allocating(tmp_path):
    # A header claiming a 10^6 x 10^6 layer must not make load draw 8 TB of weights first.
    architecture, arrays = valid_contents()
    architecture["layers"][0].update(input_size=10**6, output_size=10**6)
    architecture["layers"][1]["input_size"] = 10**6
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(
        ValueError, match=r"weights_0 has shape \(3, 2\).*needs shape \(1000000, 1000000\)"
    ):
        Sequential.load(tmp_path / "m.npz")


def test_deeply_nested_json_is_refused(tmp_path):
    _, arrays = valid_contents()
    nested = "[" * 100_000 + "]" * 100_000
    np.savez(tmp_path / "m.npz", architecture=np.array(nested), **arrays)
    with pytest.raises(ValueError, match="'architecture' is not valid JSON"):
        Sequential.load(tmp_path / "m.npz")


def test_a_non_text_architecture_is_refused(tmp_path):
    _, arrays = valid_contents()
    np.savez(tmp_path / "m.npz", architecture=np.ones(3), **arrays)
    with pytest.raises(ValueError, match="'architecture' is not a text entry"):
        Sequential.load(tmp_path / "m.npz")


def test_invalid_json_is_refused(tmp_path):
    _, arrays = valid_contents()
    np.savez(tmp_path / "m.npz", architecture=np.array("{not json"), **arrays)
    with pytest.raises(ValueError, match="'architecture' is not valid JSON"):
        Sequential.load(tmp_path / "m.npz")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_truncated_file_is_refused(tmp_path, keep):
    path = tmp_path / "m.npz"
    trained_model().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(
        ValueError, match=r"m.npz is not a readable dense model file \(truncated or corrupt\?\)"
    ):
        Sequential.load(path)


def test_a_corrupted_byte_is_caught_by_the_checksum(tmp_path):
    path = tmp_path / "m.npz"
    trained_model().save(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weights_0.npy")
    data[info.header_offset + 30 + len(info.filename) + 150] ^= 0xFF  # inside the array data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"m.npz is not a readable dense model file.*weights_0"):
        Sequential.load(path)


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    architecture, arrays = valid_contents()
    arrays["weights_0"] = np.array([[object(), 1.0], [2.0, 3.0], [4.0, 5.0]], dtype=object)
    write_npz(tmp_path / "m.npz", architecture, arrays)  # np.savez pickles object arrays
    with pytest.raises(
        ValueError, match="holds pickled Python objects .object arrays., which are never loaded"
    ):
        Sequential.load(tmp_path / "m.npz")


def test_an_array_of_the_wrong_shape_is_refused(tmp_path):
    architecture, arrays = valid_contents()
    arrays["weights_0"] = arrays["weights_0"].T
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(
        ValueError,
        match=r"weights_0 has shape \(2, 3\) and dtype float64, but layer 0 needs shape \(3, 2\) and dtype float64",
    ):
        Sequential.load(tmp_path / "m.npz")


def test_an_array_of_the_wrong_dtype_is_refused(tmp_path):
    architecture, arrays = valid_contents()
    arrays["biases_1"] = arrays["biases_1"].astype(np.float32)
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(
        ValueError,
        match=r"biases_1 has shape \(1, 1\) and dtype float32, but layer 1 needs shape \(1, 1\) and dtype float64",
    ):
        Sequential.load(tmp_path / "m.npz")


def test_missing_and_extra_arrays_are_refused(tmp_path):
    architecture, arrays = valid_contents()
    arrays["extra"] = arrays.pop("biases_1")
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(ValueError, match=r"missing \['biases_1'\], unexpected \['extra'\]"):
        Sequential.load(tmp_path / "m.npz")


def test_layers_that_do_not_chain_are_refused(tmp_path):
    architecture, arrays = valid_contents()
    architecture["layers"][1]["input_size"] = 3
    arrays["weights_1"] = np.ones((3, 1))
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(
        ValueError, match=re.escape("layers[0] has output_size 2 but layers[1] has input_size 3")
    ):
        Sequential.load(tmp_path / "m.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"activation": {"name": "Swish"}}, "unknown activation 'Swish'; known: ReLU, LeakyReLU"),
        ({"activation": {"name": "os.system"}}, "unknown activation 'os.system'"),
        ({"activation": "ReLU"}, "activation must be null or an object with a 'name'"),
        (
            {"activation": {"name": "ReLU", "negative_slope": 0.1}},
            "ReLU takes the settings [], got ['negative_slope']",
        ),
        (
            {"activation": {"name": "LeakyReLU"}},
            "LeakyReLU takes the settings ['negative_slope'], got []",
        ),
        (
            {"activation": {"name": "LeakyReLU", "negative_slope": "0.1"}},
            "negative_slope must be a number, got '0.1'",
        ),
        (
            {"activation": {"name": "LeakyReLU", "negative_slope": -1.0}},
            "negative_slope must be >= 0.0, got -1.0",
        ),
        (
            {"activation": {"name": "LeakyReLU", "negative_slope": 10**400}},
            "negative_slope must be finite",
        ),
        ({"init": "orthogonal"}, "unknown init 'orthogonal'"),
        ({"dtype": "int64"}, "dtype must name a floating dtype such as 'float64', got 'int64'"),
        ({"dtype": "not a dtype"}, "got 'not a dtype'"),
        ({"input_size": 0}, "input_size must be a positive integer, got 0"),
        ({"output_size": True}, "output_size must be a positive integer, got True"),
        ({"bias": True}, "must be described by exactly the keys"),
    ],
)
def test_a_bad_layer_description_is_refused(tmp_path, change, message):
    architecture, arrays = valid_contents()
    architecture["layers"][0].update(change)
    write_npz(tmp_path / "m.npz", architecture, arrays)
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'm.npz'}: layer 0")) as info:
        Sequential.load(tmp_path / "m.npz")
    assert message in str(info.value)


def test_an_empty_layer_list_is_refused(tmp_path):
    architecture, _ = valid_contents()
    architecture["layers"] = []
    write_npz(tmp_path / "m.npz", architecture, {})
    with pytest.raises(ValueError, match="the architecture lists no layers"):
        Sequential.load(tmp_path / "m.npz")


def test_a_file_naming_the_former_default_initializer_still_loads(tmp_path):
    path = tmp_path / "model.npz"
    Sequential(Dense(2, 3, rng=0)).save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    architecture = json.loads(str(arrays["architecture"]))
    assert architecture["layers"][0]["init"] == "normal"
    architecture["layers"][0]["init"] = "seed"  # the name versions 0.1 wrote
    arrays["architecture"] = np.array(json.dumps(architecture))
    np.savez(path, **arrays)
    (layer,) = Sequential.load(path).layers
    assert layer.init == "normal"
