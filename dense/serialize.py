"""Save and load a stack of layers as one ``.npz`` file, without pickle.

The file is an ordinary NumPy ``.npz`` archive (a zip of ``.npy`` arrays):

* ``architecture``: a 0-d string array holding JSON text, e.g.
  ``{"format": "dense.Sequential", "version": 1, "layers": [{"input_size": 64,
  "output_size": 10, "activation": {"name": "LeakyReLU", "negative_slope": 0.01},
  "init": "he", "dtype": "float64"}]}``;
* ``weights_0``, ``biases_0``, ``weights_1``, ... : the parameters of each layer.

Nothing in the file is ever executed: arrays are read with
``allow_pickle=False``, and activations are rebuilt from an explicit registry of
the built-in classes, never by importing a name found in the file. Writing goes
to a temporary file in the same folder that replaces the target only once it is
complete, so a failed save leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from dense.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from dense.init import INITIALIZERS
from dense.layer import Dense, chain

__all__ = ["FORMAT", "VERSION", "load_layers", "save_layers"]

FORMAT = "dense.Sequential"
"""The format name stored in every file; anything else is refused on load."""

VERSION = 1
"""The newest format version this code writes and reads."""

# name -> (class, names of its constructor settings). Only these can be saved or loaded.
_ACTIVATIONS: dict[str, tuple[type, tuple[str, ...]]] = {
    "ReLU": (ReLU, ()),
    "LeakyReLU": (LeakyReLU, ("negative_slope",)),
    "Sigmoid": (Sigmoid, ()),
    "Tanh": (Tanh, ()),
    "Softmax": (Softmax, ()),
}


def save_layers(layers: Iterable[Dense], path: str | PathLike[str]) -> None:
    """Write layers' architecture and parameters to ``path`` atomically.

    The archive is first written to a temporary file next to ``path``,
    flushed and ``fsync``-ed, then moved over ``path`` with ``os.replace``
    (atomic on POSIX and Windows). If anything fails, the temporary file is
    removed and an existing ``path`` keeps its previous content byte for byte.

    Parameters
    ----------
    layers : iterable of Dense
        The layers, first to last, with built-in activations (or none).
    path : str or os.PathLike
        The file to write, exactly as named (no ``.npz`` suffix is added).

    Raises
    ------
    TypeError
        If an item is not a [`Dense`][dense.Dense], or has an activation that
        is not one of the built-in classes; nothing is written then.
    ValueError
        If there are no layers, their sizes do not chain, or one layer
        object appears twice; nothing is written then.
    IsADirectoryError
        If ``path`` is a folder.
    OSError
        If writing fails (missing folder, full disk, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from dense import Dense, ReLU
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "net.npz"
    ...     save_layers([Dense(3, 2, ReLU(), rng=0)], path)
    ...     sorted(np.load(path).files)
    ['architecture', 'biases_0', 'weights_0']
    """
    layers = chain(layers)  # refuse now what load_layers would refuse later
    architecture = {
        "format": FORMAT,
        "version": VERSION,
        "layers": [_describe(k, layer) for k, layer in enumerate(layers)],
    }
    arrays: dict[str, np.ndarray] = {
        "architecture": np.array(json.dumps(architecture, allow_nan=False))
    }
    for k, layer in enumerate(layers):
        arrays[f"weights_{k}"] = layer.weights
        arrays[f"biases_{k}"] = layer.biases
    _write_atomically(Path(path), arrays)


def load_layers(path: str | PathLike[str]) -> list[Dense]:
    """Rebuild the layers stored by [`save_layers`][dense.serialize.save_layers].

    Parameters
    ----------
    path : str or os.PathLike
        A file written by [`save_layers`][dense.serialize.save_layers].

    Returns
    -------
    list of Dense
        New layers with the saved sizes, activations (and their settings),
        dtypes and parameters. ``init`` is the saved initializer name, or
        ``None`` if the layer was drawn by a custom callable (not saved).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an ``.npz`` archive written by ``dense`` (no or
        another format marker, a newer version), is truncated or corrupt,
        holds pickled Python objects, names an unknown activation or
        initializer, or has arrays whose shapes or dtypes disagree with its
        architecture. The message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from dense import Dense, LeakyReLU
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "net.npz"
    ...     save_layers([Dense(3, 2, LeakyReLU(0.2), init="he", rng=0)], path)
    ...     load_layers(path)
    [Dense(3, 2, activation=LeakyReLU(negative_slope=0.2), init='he')]
    """
    arrays = _read_arrays(path)
    name = os.fspath(path)
    if "architecture" not in arrays:
        raise ValueError(f"{name} is not a dense model file: it has no 'architecture' entry")
    specs = _parse_architecture(name, arrays["architecture"])
    expected = {"architecture"}
    for k in range(len(specs)):
        expected |= {f"weights_{k}", f"biases_{k}"}
    if set(arrays) != expected:
        missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
        raise ValueError(
            f"{name}: the arrays do not match the architecture of {len(specs)} layers "
            f"(missing {missing}, unexpected {extra})"
        )
    for k, spec in enumerate(specs):
        # Before building a layer: a header that lies about sizes must not make Dense
        # allocate and draw weights of that size first.
        needs = {
            "weights": (spec["input_size"], spec["output_size"]),
            "biases": (1, spec["output_size"]),
        }
        for attribute, shape in needs.items():
            saved = arrays[f"{attribute}_{k}"]
            if saved.shape != shape or saved.dtype != spec["dtype"]:
                raise ValueError(
                    f"{name}: {attribute}_{k} has shape {saved.shape} and dtype {saved.dtype}, "
                    f"but layer {k} needs shape {shape} and dtype {spec['dtype']}"
                )
    for k in range(len(specs) - 1):
        if specs[k]["output_size"] != specs[k + 1]["input_size"]:
            raise ValueError(
                f"{name}: layer {k} has output_size {specs[k]['output_size']} but layer "
                f"{k + 1} has input_size {specs[k + 1]['input_size']}"
            )
    layers = []
    for k, spec in enumerate(specs):
        layer = Dense(
            spec["input_size"],
            spec["output_size"],
            spec["activation"],
            init=spec["init"] or "seed",
            rng=0,  # the drawn weights are overwritten just below
            dtype=spec["dtype"],
        )
        layer.weights[...] = arrays[f"weights_{k}"]
        layer.biases[...] = arrays[f"biases_{k}"]
        layer.init = spec["init"]
        layers.append(layer)
    return layers


def _describe(k: int, layer: Dense) -> dict[str, Any]:
    activation = layer.activation
    if activation is None:
        described = None
    else:
        found = [name for name, (cls, _) in _ACTIVATIONS.items() if type(activation) is cls]
        if not found:
            raise TypeError(
                f"cannot save layer {k}: its activation {type(activation).__name__} is not "
                f"built in (saveable: {', '.join(_ACTIVATIONS)}); nothing was written"
            )
        described = {"name": found[0]}
        for setting in _ACTIVATIONS[found[0]][1]:
            described[setting] = getattr(activation, setting)
    return {
        "input_size": layer.input_size,
        "output_size": layer.output_size,
        "activation": described,
        # A custom initializer only shaped the first weights, which are saved anyway.
        "init": layer.init if isinstance(layer.init, str) else None,
        "dtype": layer.dtype.name,
    }


def _write_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    if path.is_dir():  # os.replace would fail only after the whole file was written
        raise IsADirectoryError(
            f"{path} is a folder; name the file to write, e.g. {path / 'model.npz'}"
        )
    folder = path.parent
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them live
        # mkstemp makes the file private (0600); keep the mode of the file being replaced.
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a folder, and needs not.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_arrays(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    name = os.fspath(path)
    try:
        # Our own handle, closed even when NumPy fails half-way through a truncated archive.
        with open(path, "rb") as file:
            try:
                loaded = np.load(file, allow_pickle=False)
            except ValueError as error:  # neither zip nor .npy: NumPy took it for a pickle
                raise ValueError("it is not an .npz archive") from error
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not an .npz archive")
            with loaded:
                return {key: loaded[key] for key in loaded.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError) as error:
        reason = str(error)
        if "pickle" in reason:
            reason = "it holds pickled Python objects (object arrays), which are never loaded"
        raise ValueError(
            f"{name} is not a readable dense model file (truncated or corrupt?): {reason}"
        ) from error


def _parse_architecture(name: str, stored: np.ndarray) -> list[dict[str, Any]]:
    if stored.ndim != 0 or stored.dtype.kind != "U":
        raise ValueError(f"{name} is not a dense model file: 'architecture' is not a text entry")
    try:
        architecture = json.loads(str(stored[()]))
    except (json.JSONDecodeError, RecursionError) as error:  # RecursionError: [[[[... nesting
        raise ValueError(f"{name}: 'architecture' is not valid JSON ({error})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        found = architecture.get("format") if isinstance(architecture, dict) else None
        raise ValueError(f"{name} is not a dense model file: format {found!r}, expected {FORMAT!r}")
    version = architecture.get("version")
    if not _is_int(version) or not 1 <= version <= VERSION:
        raise ValueError(
            f"{name} has format version {version!r}; this version of dense reads 1 to {VERSION}"
        )
    layers = architecture.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"{name}: the architecture lists no layers")
    return [_parse_layer(name, k, spec) for k, spec in enumerate(layers)]


def _parse_layer(name: str, k: int, spec: object) -> dict[str, Any]:
    where = f"{name}: layer {k}"
    keys = {"input_size", "output_size", "activation", "init", "dtype"}
    if not isinstance(spec, dict) or set(spec) != keys:
        raise ValueError(f"{where} must be described by exactly the keys {sorted(keys)}")
    for size in ("input_size", "output_size"):
        if not _is_int(spec[size]) or spec[size] < 1:
            raise ValueError(f"{where}: {size} must be a positive integer, got {spec[size]!r}")
    init = spec["init"]
    if init is not None and init not in INITIALIZERS:
        raise ValueError(f"{where}: unknown init {init!r}; known: {', '.join(INITIALIZERS)}")
    return {
        "input_size": spec["input_size"],
        "output_size": spec["output_size"],
        "activation": _parse_activation(where, spec["activation"]),
        "init": init,
        "dtype": _parse_dtype(where, spec["dtype"]),
    }


def _parse_activation(where: str, spec: object) -> object:
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError(f"{where}: activation must be null or an object with a 'name'")
    if spec["name"] not in _ACTIVATIONS:
        raise ValueError(
            f"{where}: unknown activation {spec['name']!r}; known: {', '.join(_ACTIVATIONS)}"
        )
    cls, settings = _ACTIVATIONS[spec["name"]]
    given = set(spec) - {"name"}
    if given != set(settings):
        raise ValueError(
            f"{where}: {spec['name']} takes the settings {sorted(settings)}, got {sorted(given)}"
        )
    values = {key: spec[key] for key in settings}
    for key, value in values.items():
        # Only the type here: the class itself refuses NaN, infinity and ints beyond a float.
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"{where}: {spec['name']} {key} must be a number, got {value!r}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None


def _parse_dtype(where: str, dtype: object) -> np.dtype:
    if isinstance(dtype, str):
        with contextlib.suppress(TypeError):
            resolved = np.dtype(dtype)
            if resolved.kind == "f" and resolved.name == dtype:
                return resolved
    raise ValueError(f"{where}: dtype must name a floating dtype such as 'float64', got {dtype!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
