"""Checkpoints that can never execute code when loaded: ``save`` and ``load``.

A checkpoint is an ``.npz`` archive (a zip of ``.npy`` files, written by numpy): every Tensor or
array of the saved object is one entry under a generated key, and the entry ``__gradlab__`` holds
UTF-8 JSON with a format marker, a version and the object's structure (dicts, lists, tuples,
numbers, strings, None, and references to the array entries with their dtypes and shapes).

Loading reads the archive with ``np.load(..., allow_pickle=False)`` and rebuilds the structure from
the JSON, so nothing in the file is ever unpickled or evaluated: a pickle (``torch.save`` output,
``np.save`` of object arrays) is refused with an error instead.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any

import numpy as np

from .tensor import Tensor

FORMAT = "gradlab-checkpoint"
VERSION = 1
METADATA_KEY = "__gradlab__"
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"
_NPY_MAGIC = b"\x93NUMPY"


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` to ``path`` as a gradlab checkpoint.

    ``obj`` may nest dicts (keys: str, int, float, bool, None or tuples of them), lists and tuples
    of Tensors, numpy arrays and scalars, Python numbers, strings, bools and None: a model's
    ``state_dict()``, an optimizer's, or a dict holding both and an epoch number. The file is
    written next to ``path`` and then renamed, so an interrupted save never leaves a truncated
    checkpoint under the final name.

    Args:
        obj: what to save.
        path: the file name (written as given; no suffix is added).

    Raises:
        TypeError: for a value of another type, naming where it sits in ``obj``.
    """
    arrays: dict[str, np.ndarray] = {}
    root = _encode(obj, arrays, "obj")
    metadata = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    arrays[METADATA_KEY] = np.frombuffer(metadata.encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    partial = path + ".partial"
    with open(partial, "wb") as file:
        np.savez(file, **arrays)
    os.replace(partial, path)


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by ``save``.

    Tensors come back as Tensors (with their ``requires_grad`` flag), arrays as arrays, numpy
    scalars as numpy scalars, all with their dtypes; containers and plain values as they were
    (dicts in their original order).

    Args:
        path: the file name.

    Returns:
        the saved object.

    Raises:
        ValueError: the file is not a gradlab checkpoint (a pickle, a plain ``.npy``, another zip,
            a checkpoint from a newer gradlab, or one whose metadata is malformed).
        RuntimeError: the file is truncated or corrupt.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        head = file.read(len(_NPY_MAGIC))
    if head.startswith(_PICKLE_MAGIC):
        raise ValueError(f"{path}: this is a pickle file (e.g. written by torch.save or pickle), not a gradlab "
                         f"checkpoint; gradlab refuses to load pickles because loading one can execute arbitrary code")
    if head.startswith(_NPY_MAGIC):
        raise ValueError(f"{path}: this is a single .npy array, not a gradlab checkpoint; load it with numpy.load")
    if not head.startswith(_ZIP_MAGIC):
        raise ValueError(f"{path}: not a gradlab checkpoint (it does not start with the zip signature of an .npz "
                         f"archive; first bytes {head!r})")
    metadata, arrays = _read_archive(path)
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT or "root" not in metadata:
        raise ValueError(f"{path}: not a gradlab checkpoint (its {METADATA_KEY} entry has no {FORMAT!r} marker)")
    version = metadata.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(f"{path}: checkpoint format version {version!r} is newer than this gradlab reads "
                         f"(version {VERSION}); upgrade gradlab")
    try:
        return _decode(metadata["root"], arrays, path)
    except (KeyError, TypeError, ValueError, RecursionError) as error:
        if isinstance(error, ValueError) and str(error).startswith(path):
            raise
        # A hand-made or damaged structure: missing fields, wrong types, absurd nesting.
        raise ValueError(f"{path}: malformed checkpoint metadata ({type(error).__name__}: {error})") from error


def _read_archive(path: str) -> tuple[Any, dict[str, np.ndarray]]:
    """The parsed metadata and every array entry, with low-level failures turned into clear errors."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            if METADATA_KEY not in names:
                hint = " (it looks like a torch.save file, which holds a pickle)" if any(
                    name.endswith("data.pkl") for name in archive.zip.namelist()) else ""
                raise ValueError(f"{path}: not a gradlab checkpoint: the archive has no {METADATA_KEY} entry{hint}")
            metadata = json.loads(archive[METADATA_KEY].tobytes().decode("utf-8"))
            arrays = {name: archive[name] for name in names if name != METADATA_KEY}
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RuntimeError(f"{path}: corrupt or truncated checkpoint ({type(error).__name__}: {error})") from error
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise ValueError(f"{path}: the archive holds pickled Python objects; gradlab refuses to load them "
                             f"because loading a pickle can execute arbitrary code") from error
        if str(error).startswith(path):
            raise
        raise RuntimeError(f"{path}: corrupt or truncated checkpoint ({error})") from error
    return metadata, arrays


def _store(array: np.ndarray, arrays: dict[str, np.ndarray], where: str) -> dict:
    if array.dtype.hasobject:
        raise TypeError(f"save: {where} is an array of Python objects (dtype {array.dtype}); only numeric, bool "
                        f"and string arrays can be saved")
    key = f"a{len(arrays)}"
    arrays[key] = array
    return {"key": key, "dtype": array.dtype.str, "shape": list(array.shape)}


def _encode(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """The JSON description of ``value``; arrays go into ``arrays``. Every JSON object is a tagged node."""
    if isinstance(value, Tensor):
        return {"type": "tensor", **_store(value.data, arrays, where), "requires_grad": bool(value.requires_grad)}
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", **_store(value, arrays, where)}
    if isinstance(value, np.generic):
        return {"type": "numpy_scalar", **_store(np.asarray(value), arrays, where)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not _is_key(key):
                raise TypeError(f"save: dict key {key!r} at {where} has type {type(key).__name__}; keys must be "
                                f"str, int, float, bool, None or tuples of them")
            items.append([_encode(key, arrays, where), _encode(item, arrays, f"{where}[{key!r}]")])
        return {"type": "dict", "items": items}
    if isinstance(value, (list, tuple)):
        return {"type": "tuple" if isinstance(value, tuple) else "list",
                "items": [_encode(item, arrays, f"{where}[{index}]") for index, item in enumerate(value)]}
    raise TypeError(f"save: cannot store {where} of type {type(value).__name__}; checkpoints hold Tensors, numpy "
                    f"arrays and scalars, numbers, strings, bools, None and dicts/lists/tuples of them")


def _is_key(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_is_key(item) for item in key)
    return key is None or (isinstance(key, (bool, int, float, str)) and not isinstance(key, np.generic))


def _decode(node: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or "type" not in node:
        raise ValueError(f"{path}: malformed checkpoint metadata: unexpected node {node!r}")
    kind = node["type"]
    if kind in ("tensor", "ndarray", "numpy_scalar"):
        array = arrays.get(node.get("key"))
        if array is None:
            raise ValueError(f"{path}: malformed checkpoint: array entry {node.get('key')!r} is missing")
        if array.dtype.str != node.get("dtype") or list(array.shape) != node.get("shape"):
            raise ValueError(f"{path}: malformed checkpoint: entry {node['key']!r} has dtype {array.dtype.str} and "
                             f"shape {list(array.shape)}, the metadata says {node.get('dtype')} and "
                             f"{node.get('shape')}")
        if kind == "tensor":
            return Tensor(array, requires_grad=bool(node.get("requires_grad", False)))
        return array if kind == "ndarray" else array[()]
    if kind == "dict":
        result = {}
        for key, value in node["items"]:
            key = _decode(key, arrays, path)
            if not _is_key(key):
                raise ValueError(f"{path}: malformed checkpoint metadata: dict key {key!r} is not a valid key")
            result[key] = _decode(value, arrays, path)
        return result
    if kind == "list":
        return [_decode(item, arrays, path) for item in node["items"]]
    if kind == "tuple":
        return tuple(_decode(item, arrays, path) for item in node["items"])
    raise ValueError(f"{path}: malformed checkpoint metadata: unknown node type {kind!r}")

