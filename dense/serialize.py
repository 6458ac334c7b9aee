"""Save and load a stack of layers as one .npz file, without pickle.

The file is a NumPy ``.npz`` archive (an uncompressed zip of ``.npy`` arrays):

* ``architecture``: a 0-d string array holding JSON text, e.g.
  ``{"format": "dense.Sequential", "version": 1, "layers": [{"input_size": 64,
  "output_size": 10, "activation": {"name": "LeakyReLU", "negative_slope": 0.01},
  "init": "he", "dtype": "float64"}]}``;
* ``weights_0``, ``biases_0``, ``weights_1``, ... : the parameters of each layer.

Nothing in a file is ever executed: arrays are written and read with ``allow_pickle=False``,
and activations are rebuilt from a fixed registry of the built-in classes. Save and load run
one check: known format, activations and initializers, every array of the shape and dtype
its layer needs, no NaN or infinity, layers that chain. ``save_layers`` runs it on what it
is about to write, before touching an existing file, so what it writes ``load_layers``
reads back bit for bit.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import zipfile
import zlib
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import IO, Any

import numpy as np

from dense._atomic import write_atomically
from dense.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from dense.init import INITIALIZERS
from dense.layer import Dense, chain

__all__ = ["FORMAT", "VERSION", "load_layers", "save_layers"]

FORMAT = "dense.Sequential"
"""The format name stored in every file; anything else is refused on load."""

VERSION = 1
"""The newest format version this code writes and reads."""

# Initializer names that earlier versions wrote, so their files still load.
_FORMER_NAMES = {"seed": "normal"}

# name -> (class, names of its constructor settings). Only these can be saved or loaded.
_ACTIVATIONS: dict[str, tuple[type, tuple[str, ...]]] = {
    "ReLU": (ReLU, ()),
    "LeakyReLU": (LeakyReLU, ("negative_slope",)),
    "Sigmoid": (Sigmoid, ()),
    "Tanh": (Tanh, ()),
    "Softmax": (Softmax, ()),
}


def save_layers(layers: Iterable[Dense], path: str | PathLike[str]) -> None:
    """Write layers' architecture and parameters to path, atomically.

    The archive goes to a temporary file next to ``path``, is flushed and ``fsync``-ed,
    then moved over ``path`` with ``os.replace``; if anything fails, an existing ``path``
    keeps its content byte for byte.

    Parameters
    ----------
    layers : iterable of Dense
        The layers, first to last, with built-in activations or none.
    path : str or os.PathLike
        The file to write, exactly as named (no suffix is added).

    Raises
    ------
    TypeError
        If an item is not a ``Dense`` or has an activation that is not built in.
    ValueError
        If ``load_layers`` would refuse what would be written: no layers, sizes that do
        not chain, a layer listed twice, or a parameter of the wrong shape or dtype, an
        object array, NaN or infinity. Nothing is written then.
    OSError
        If writing fails (a folder as ``path``, a missing folder, a full disk, ...).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from dense import Dense, ReLU
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "net.npz"
    ...     save_layers([Dense(3, 2, ReLU(), rng=0)], path)
    ...     load_layers(path)
    [Dense(3, 2, activation=ReLU())]
    """
    layers = chain(layers)
    architecture = {
        "format": FORMAT,
        "version": VERSION,
        "layers": [_describe(k, layer) for k, layer in enumerate(layers)],
    }
    # default=repr: a corrupted attribute reaches the check below as text it can quote.
    arrays: dict[str, Any] = {"architecture": np.array(json.dumps(architecture, default=repr))}
    for k, layer in enumerate(layers):
        arrays[f"weights_{k}"] = layer.weights
        arrays[f"biases_{k}"] = layer.biases
    _layers_from(f"cannot save {os.fspath(path)}", arrays)  # the check load_layers makes
    write_atomically(Path(path), lambda file: _write_npz(file, arrays))


def load_layers(path: str | PathLike[str]) -> list[Dense]:
    """Rebuild the layers stored by save_layers, bit for bit.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``save_layers``.

    Returns
    -------
    list of Dense
        New layers with the saved sizes, activations, dtypes and parameters; ``init`` is
        the saved initializer name, or ``None`` for a custom callable.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a ``dense`` model of a known version, is truncated or corrupt,
        holds pickled objects, or its arrays disagree with its architecture; the message
        names the file. No array larger than the file is ever allocated.
    """
    return _layers_from(os.fspath(path), _read_arrays(path))


def _layers_from(name: str, arrays: dict[str, Any]) -> list[Dense]:
    if "architecture" not in arrays:
        raise ValueError(f"{name} is not a dense model file: it has no 'architecture' entry")
    specs = _parse_architecture(name, arrays["architecture"])
    kinds = ("weights", "biases")
    expected = {"architecture"} | {f"{kind}_{k}" for k in range(len(specs)) for kind in kinds}
    if set(arrays) != expected:
        missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
        raise ValueError(
            f"{name}: the arrays do not match the architecture of {len(specs)} layers "
            f"(missing {missing}, unexpected {extra})"
        )
    layers = []
    for k, spec in enumerate(specs):
        needs = {
            f"weights_{k}": (spec["input_size"], spec["output_size"]),
            f"biases_{k}": (1, spec["output_size"]),
        }
        for key, shape in needs.items():
            array = arrays[key]
            if type(array) is not np.ndarray:
                raise ValueError(f"{name}: {key} must be a numpy.ndarray, got {type(array)}")
            if array.shape != shape or array.dtype != spec["dtype"]:
                raise ValueError(
                    f"{name}: {key} has shape {array.shape} and dtype {array.dtype}, "
                    f"but layer {k} needs shape {shape} and dtype {spec['dtype']}"
                )
        try:
            weights, biases = (arrays[key] for key in needs)
            layers.append(
                Dense.from_parameters(weights, biases, spec["activation"], init=spec["init"])
            )
        except ValueError as error:
            raise ValueError(f"{name}: layer {k}: {error}") from None
    try:
        return list(chain(layers))
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


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
            described[setting] = getattr(activation, setting, None)
    return {
        "input_size": layer.input_size,
        "output_size": layer.output_size,
        "activation": described,
        # A custom initializer only shaped the first weights, which are saved anyway.
        "init": layer.init if isinstance(layer.init, str) else None,
        "dtype": getattr(layer.dtype, "name", layer.dtype),
    }


def _write_npz(file: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    # np.savez as NumPy writes it, but never pickling, on every supported NumPy version
    # (np.savez has no allow_pickle before NumPy 2.1), and with a fixed date in the zip
    # entries, so that the same model always gives the same bytes.
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            entry = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(entry, "w", force_zip64=True) as stream:
                np.lib.format.write_array(stream, array, allow_pickle=False)


def _read_arrays(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    name = os.fspath(path)
    try:
        # Our own handle, closed even when reading fails half-way through a truncated archive.
        with open(path, "rb") as file:
            if file.read(6) == b"\x93NUMPY":
                raise ValueError("it holds a single array, not an .npz archive")
            if not zipfile.is_zipfile(file):
                raise ValueError("it is not an .npz archive")
            limit = os.fstat(file.fileno()).st_size
            with zipfile.ZipFile(file) as archive:
                entries = archive.infolist()
                if len({entry.filename for entry in entries}) != len(entries):
                    raise ValueError("an entry name appears twice")
                return dict(_read_entry(archive, entry, limit) for entry in entries)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        OSError,
        ValueError,
        OverflowError,
        NotImplementedError,
    ) as error:
        raise ValueError(
            f"{name} is not a readable dense model file (truncated or corrupt?): {error}"
        ) from error


def _read_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int
) -> tuple[str, np.ndarray]:
    name = entry.filename
    if not name.endswith(".npy"):
        raise ValueError(f"its entry {name!r} is not an .npy array")
    if entry.compress_type != zipfile.ZIP_STORED or entry.flag_bits & 0x1:
        raise ValueError(f"its entry {name!r} is compressed or encrypted")
    if entry.file_size > limit:
        raise ValueError(f"its entry {name!r} claims {entry.file_size} bytes, more than the file")
    # Read the .npy header first: NumPy would allocate whatever shape it claims.
    with archive.open(entry) as stream:
        if np.lib.format.read_magic(stream) != (1, 0):
            raise ValueError(f"{name} is not an .npy array of format version 1.0")
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        if dtype.hasobject:
            raise ValueError(
                f"{name} holds pickled Python objects (object arrays), which are never loaded"
            )
        size = math.prod(shape) * dtype.itemsize
        if min(shape, default=0) < 0 or stream.tell() + size != entry.file_size:
            raise ValueError(f"{name} has a header for shape {shape} {dtype}, not its data")
    with archive.open(entry) as stream:
        return name[: -len(".npy")], np.lib.format.read_array(stream, allow_pickle=False)


def _parse_architecture(name: str, stored: np.ndarray) -> list[dict[str, Any]]:
    if not isinstance(stored, np.ndarray) or stored.ndim != 0 or stored.dtype.kind != "U":
        raise ValueError(f"{name} is not a dense model file: 'architecture' is not a text entry")
    try:
        architecture = json.loads(str(stored[()]))
    except (ValueError, RecursionError) as error:  # RecursionError: [[[[... nesting
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
    init = _FORMER_NAMES.get(spec["init"], spec["init"])
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
        with contextlib.suppress(TypeError, ValueError):
            resolved = np.dtype(dtype)
            if resolved.kind == "f" and resolved.name == dtype:
                return resolved
    raise ValueError(f"{where}: dtype must name a floating dtype such as 'float64', got {dtype!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
