"""Checkpoints that can never execute code when loaded: ``save`` and ``load``.

A checkpoint is a safetensors file (https://huggingface.co/docs/safetensors), the format PyTorch,
Hugging Face and JAX exchange weights in: an 8-byte little-endian header length, a JSON header that
gives each tensor's dtype, shape and byte range, then the raw little-endian bytes, uncompressed.

Every Tensor or array of the saved object is one tensor of the file, named by its dotted path in the
object: a flat state dict's keys as they are (``conv1.weight``), nested values by their path
(``model.conv1.weight``, ``optimizer.state.0.exp_avg``; a ``~1`` suffix keeps names unique). The
header's metadata holds, under the key ``gradlab``, JSON with a format marker, a version and the
object's structure: dicts, lists, tuples, numbers, strings, None, and references to the tensors by name
with their dtypes, shapes and ``requires_grad``. So a saved state dict is a plain safetensors file that
``safetensors.torch.load_file`` reads, and a safetensors file without gradlab metadata (written by
PyTorch, say) loads as a dict from tensor name to Tensor.

Loading refuses anything but a regular file before opening it (a FIFO or a device never blocks or
streams), lets safetensors check the header (every byte range inside the file and matching its dtype
and shape) before any tensor is read, memory-maps the file and copies out only the tensors the
structure references, each once: what is allocated never exceeds what the file holds.

Checkpoints of gradlab before safetensors (format version 1) are ``.npz`` archives whose ``__gradlab__``
entry holds the same JSON; a read-only legacy reader still loads them, accepting only uncompressed
entries whose npy headers match their sizes and the file, and reading only the entries the JSON
references. Saving again converts them.

Saving writes a new, uniquely named file next to the target, syncs it to disk and renames it over the
target, so a reader, a concurrent writer or a crash sees either the old checkpoint or the new one.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import stat
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np
import safetensors
import safetensors.numpy

from . import device as _device
from .tensor import Tensor

FORMAT = "gradlab-checkpoint"
VERSION = 2
METADATA_KEY = "gradlab"
LEGACY_VERSION = 1
LEGACY_METADATA_KEY = "__gradlab__"
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"
_NPY_MAGIC = b"\x93NUMPY"
# The safetensors dtypes that numpy has (bfloat16 and the float8 types have no numpy dtype).
_DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16", "U32": "uint32",
           "I32": "int32", "U64": "uint64", "I64": "int64", "F16": "float16", "F32": "float32", "F64": "float64",
           "C64": "complex64"}
_SAVABLE = set(_DTYPES.values())
_TEMPORARY_ATTEMPTS = 100


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` to ``path`` as a gradlab checkpoint (a safetensors file).

    ``obj`` may nest dicts (keys: str, int, float, bool, None or tuples of them), lists and tuples
    of Tensors, numpy arrays and scalars, Python numbers, strings, bools and None: a model's
    ``state_dict()``, an optimizer's, or a dict holding both and an epoch number. Arrays may have
    the dtypes safetensors stores: bool, (u)int8 to (u)int64, float16/32/64 and complex64;
    big-endian arrays come back in native byte order.

    The file is replaced atomically: a unique temporary file in the target's folder is written,
    flushed to disk and renamed over ``path``, so an interrupted or failed save leaves the previous
    checkpoint intact, and of two processes saving to one path, one complete file wins. When ``path``
    is a symbolic link, the file it points to is replaced and the link stays, as with ``torch.save``.

    Args:
        obj: what to save.
        path: the file name (written as given; no suffix is added).

    Raises:
        TypeError: for a value of another type or an array of another dtype, naming where it sits in ``obj``.
        OSError: the file cannot be written (nothing is left behind).
    """
    tensors: dict[str, np.ndarray] = {}
    root = _encode(obj, tensors, "obj", "")
    metadata = {METADATA_KEY: json.dumps({"format": FORMAT, "version": VERSION, "root": root})}
    _write_atomically(os.fspath(path), safetensors.numpy.save(tensors, metadata=metadata))


def load(path: str | os.PathLike, map_location: Any = None) -> Any:
    """Read a checkpoint written by ``save``, a legacy ``.npz`` one, or any safetensors file.

    Tensors come back as Tensors (with their ``requires_grad`` flag), arrays as arrays, numpy
    scalars as numpy scalars, all with their dtypes; containers and plain values as they were
    (dicts in their original order). A safetensors file without gradlab metadata gives a dict from
    tensor name to Tensor (``requires_grad=False``), in the file's name order.

    Args:
        path: the file name.
        map_location: the device to put its Tensors on (``"cuda"``, a ``Device``); None or ``"cpu"``: host
            memory, whatever device they were saved from. Only a device, not PyTorch's dict or function.

    Returns:
        the saved object.

    Raises:
        FileNotFoundError, PermissionError: the file cannot be opened.
        ValueError: the file is not a gradlab checkpoint (a pickle, a plain ``.npy``, a FIFO or
            device, another zip, a checkpoint from a newer gradlab, one whose metadata is malformed
            or that holds a dtype numpy lacks).
        RuntimeError: the file is truncated or corrupt.
        Every ValueError and RuntimeError message starts with the path.
    """
    path = os.fspath(path)
    with open_regular_file(path) as file:
        head = file.read(9)
        if head.startswith(_PICKLE_MAGIC):
            raise ValueError(f"{path}: this is a pickle file (e.g. written by torch.save or pickle), not a gradlab "
                             f"checkpoint; gradlab refuses to load pickles because loading one can execute "
                             f"arbitrary code")
        if head.startswith(_NPY_MAGIC):
            raise ValueError(f"{path}: this is a single .npy array, not a gradlab checkpoint; load it with numpy.load")
        if head.startswith(_ZIP_MAGIC):
            return _located(_load_legacy(file, path), map_location)
        # A safetensors header is a JSON object right after its 8-byte length.
        if head[8:9] != b"{":
            raise ValueError(f"{path}: not a gradlab checkpoint (neither a safetensors file nor a legacy .npz "
                             f"archive; first bytes {head!r})")
        return _located(_load_safetensors(file, path), map_location)


def _located(value: Any, device: Any) -> Any:
    """``value`` with its Tensors (in dicts, lists and tuples) moved to ``device`` (None: left on the CPU)."""
    if device is None:
        return value
    if isinstance(value, Tensor):
        moved = Tensor(_device.to_device(value.data, device))
        return moved.requires_grad_(value.requires_grad)
    if isinstance(value, dict):
        return {key: _located(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_located(item, device) for item in value)
    return value


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file, without ever blocking on it.

    ``open`` on a FIFO waits for a writer, and a device such as ``/dev/zero`` never ends, so a reader
    that trusts its input's size must refuse both: the path is checked before it is opened (opening a
    device can have effects), opened non-blocking, and checked again through the descriptor in case it
    was swapped in between.

    Args:
        path: the file name.

    Returns:
        the open file, positioned at its start.

    Raises:
        FileNotFoundError, PermissionError: as ``open`` raises them.
        ValueError: ``path`` is not a regular file, naming what it is.
    """
    _check_regular(os.stat(path).st_mode, path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        _check_regular(os.fstat(fd).st_mode, path)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _check_regular(mode: int, path: str | os.PathLike) -> None:
    if stat.S_ISREG(mode):
        return
    kinds = [(stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")]
    kind = next((name for test, name in kinds if test(mode)), "an unknown kind of file")
    raise ValueError(f"{os.fspath(path)}: not a regular file ({kind}); only regular files are read, because "
                     f"their size is known before reading")


# ----------------------------------------------------------------------------- writing
def _write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` (or the file a symlink there points to) by a file holding ``data``, atomically."""
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    fd, temporary = _create_temporary(directory, name)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # a private checkpoint stays private
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _create_temporary(directory: str, name: str) -> tuple[int, str]:
    """A new file next to the target, created exclusively: O_EXCL fails on any existing name, a symlink
    included, so nothing planted there is written through. Permissions follow the umask, as ``open`` does."""
    for _ in range(_TEMPORARY_ATTEMPTS):
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no unused temporary name found for {name} after "
                                        f"{_TEMPORARY_ATTEMPTS} attempts", directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; file systems that cannot sync a directory answer EINVAL, which is no failure."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


def _encode(value: Any, tensors: dict[str, np.ndarray], where: str, name: str) -> Any:
    """The JSON description of ``value``; arrays go into ``tensors`` under dotted names. Every JSON object
    is a tagged node. ``where`` locates the value for error messages, ``name`` is its dotted path."""
    if isinstance(value, Tensor):
        # Saved from any device; the file holds host memory.
        return {"type": "tensor", **_store(_device.to_device(value.data, "cpu"), tensors, where, name),
                "requires_grad": bool(value.requires_grad)}
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", **_store(value, tensors, where, name)}
    if isinstance(value, np.generic):
        return {"type": "numpy_scalar", **_store(np.asarray(value), tensors, where, name)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not _is_key(key):
                raise TypeError(f"save: dict key {key!r} at {where} has type {type(key).__name__}; keys must be "
                                f"str, int, float, bool, None or tuples of them")
            items.append([_encode(key, tensors, where, name),
                          _encode(item, tensors, f"{where}[{key!r}]", _child(name, key))])
        return {"type": "dict", "items": items}
    if isinstance(value, (list, tuple)):
        return {"type": "tuple" if isinstance(value, tuple) else "list",
                "items": [_encode(item, tensors, f"{where}[{index}]", _child(name, index))
                          for index, item in enumerate(value)]}
    raise TypeError(f"save: cannot store {where} of type {type(value).__name__}; checkpoints hold Tensors, numpy "
                    f"arrays and scalars, numbers, strings, bools, None and dicts/lists/tuples of them")


def _child(name: str, key: Any) -> str:
    return f"{name}.{key}" if name else str(key)


def _store(array: np.ndarray, tensors: dict[str, np.ndarray], where: str, name: str) -> dict:
    if array.dtype.name not in _SAVABLE:
        raise TypeError(f"save: {where} is an array of dtype {array.dtype}, which a safetensors checkpoint cannot "
                        f"hold (it holds {', '.join(sorted(_SAVABLE))}; Python objects and strings are refused)")
    unique, suffix = name or "tensor", 1
    # "__metadata__" is the header's own entry in safetensors.
    while unique in tensors or unique == "__metadata__":
        unique, suffix = f"{name or 'tensor'}~{suffix}", suffix + 1
    # safetensors copies raw memory: it needs C order and stores little-endian.
    tensors[unique] = array.astype(array.dtype.newbyteorder("<"), order="C", copy=False)
    return {"key": unique, "dtype": tensors[unique].dtype.str, "shape": list(array.shape)}


def _is_key(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_is_key(item) for item in key)
    return key is None or (isinstance(key, (bool, int, float, str)) and not isinstance(key, np.generic))


# ----------------------------------------------------------------------------- reading
def _fd_name(file: BinaryIO, path: str) -> str:
    """A name that opens the very file already open and checked, so that safetensors cannot be handed a
    FIFO swapped in at ``path`` meanwhile; ``path`` itself where the system has no such names."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(folder):
            return f"{folder}/{file.fileno()}"
    return path


def _load_safetensors(file: BinaryIO, path: str) -> Any:
    try:
        with safetensors.safe_open(_fd_name(file, path), framework="numpy") as archive:
            names = set(archive.keys())

            def read(name: str) -> np.ndarray:
                if name not in names:
                    raise ValueError(f"{path}: malformed checkpoint: tensor {name!r} is missing")
                dtype = archive.get_slice(name).get_dtype()
                if dtype not in _DTYPES:
                    raise ValueError(f"{path}: tensor {name!r} has dtype {dtype}, which numpy cannot represent")
                return archive.get_tensor(name)

            text = (archive.metadata() or {}).get(METADATA_KEY)
            if text is None:
                return {name: Tensor(read(name)) for name in archive.keys()}
            return _decode_document(_parse_json(text, path), read, path, VERSION)
    except safetensors.SafetensorError as error:
        raise RuntimeError(f"{path}: corrupt or truncated checkpoint ({error})") from None


def _load_legacy(file: BinaryIO, path: str) -> Any:
    """A version-1 checkpoint: an ``.npz`` archive, read without trusting its sizes."""
    size = os.fstat(file.fileno()).st_size
    try:
        with zipfile.ZipFile(file) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if LEGACY_METADATA_KEY + ".npy" not in members:
                hint = " (it looks like a torch.save file, which holds a pickle)" if any(
                    name.endswith("data.pkl") for name in members) else ""
                raise ValueError(f"{path}: not a gradlab checkpoint: the archive has no {LEGACY_METADATA_KEY} "
                                 f"entry{hint}")

            def read(name: str) -> np.ndarray:
                return _read_member(archive, members.get(name + ".npy"), size, path, name)

            metadata = read(LEGACY_METADATA_KEY)
            if metadata.dtype != np.uint8 or metadata.ndim != 1:
                raise ValueError(f"{path}: malformed checkpoint metadata: the {LEGACY_METADATA_KEY} entry has "
                                 f"dtype {metadata.dtype} and shape {metadata.shape}, not a byte string")
            document = _parse_json(metadata.tobytes(), path)
            return _decode_document(document, read, path, LEGACY_VERSION)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, UnicodeDecodeError) as error:
        if str(error).startswith(path):
            raise
        # zipfile's own complaints about a damaged archive: bad records, unknown versions or flags
        # (NotImplementedError, "encrypted" RuntimeErrors), undecodable member names.
        raise RuntimeError(f"{path}: corrupt or truncated checkpoint ({type(error).__name__}: {error})") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo | None, size: int, path: str,
                 name: str) -> np.ndarray:
    """One ``.npy`` entry, its sizes checked against its header and the file before anything is allocated."""
    if info is None:
        raise ValueError(f"{path}: malformed checkpoint: array entry {name!r} is missing")
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{path}: entry {info.filename} is compressed; legacy checkpoints are read only when "
                         f"uncompressed (as np.savez writes them), because a compressed entry's size cannot be "
                         f"checked before it is inflated")
    if info.file_size != info.compress_size or info.header_offset + info.compress_size > size:
        raise RuntimeError(f"{path}: corrupt or truncated checkpoint: entry {info.filename} declares "
                           f"{info.file_size} bytes, more than the {size}-byte file holds")
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"npy format version {version}, which legacy checkpoints never used")
        except (ValueError, TypeError) as error:
            raise RuntimeError(f"{path}: corrupt checkpoint: entry {info.filename} has no valid npy header "
                               f"({error})") from None
        if any(dim < 0 for dim in shape):
            raise RuntimeError(f"{path}: corrupt checkpoint: entry {info.filename} declares shape {shape}")
        if dtype.hasobject:
            raise ValueError(f"{path}: the archive holds pickled Python objects (entry {info.filename}); gradlab "
                             f"refuses to load them because loading a pickle can execute arbitrary code")
        nbytes = math.prod(shape) * dtype.itemsize
        if member.tell() + nbytes != info.file_size:
            raise RuntimeError(f"{path}: corrupt checkpoint: entry {info.filename} declares shape {shape} of "
                               f"{dtype} ({nbytes} bytes), but holds {info.file_size - member.tell()} bytes of data")
        buffer = bytearray(nbytes)
        if member.readinto(buffer) != nbytes:
            raise RuntimeError(f"{path}: corrupt or truncated checkpoint: entry {info.filename} ends early")
    return np.frombuffer(buffer, dtype).reshape(shape, order="F" if fortran_order else "C")


def _parse_json(text: str | bytes, path: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{path}: malformed checkpoint metadata ({type(error).__name__}: {error})") from None


def _decode_document(document: Any, read: Callable[[str], np.ndarray], path: str, version: int) -> Any:
    """The object described by the parsed gradlab JSON ``document`` of a file of format ``version``."""
    if not isinstance(document, dict) or document.get("format") != FORMAT or "root" not in document:
        raise ValueError(f"{path}: not a gradlab checkpoint (its metadata has no {FORMAT!r} marker)")
    found = document.get("version")
    if isinstance(found, int) and found > VERSION:
        raise ValueError(f"{path}: checkpoint format version {found!r} is newer than this gradlab reads "
                         f"(version {VERSION}); upgrade gradlab")
    if found != version:
        raise ValueError(f"{path}: malformed checkpoint metadata: format version {found!r} in a file of version "
                         f"{version}")
    try:
        return _decode(document["root"], read, path, set())
    except (KeyError, TypeError, ValueError, RuntimeError, RecursionError) as error:
        if str(error).startswith(path):
            raise
        # A hand-made or damaged structure: missing fields, wrong types, absurd nesting.
        raise ValueError(f"{path}: malformed checkpoint metadata ({type(error).__name__}: {error})") from None


def _decode(node: Any, read: Callable[[str], np.ndarray], path: str, seen: set[str]) -> Any:
    """Rebuild the value ``node`` describes; ``seen`` holds the tensors read so far, since a tensor
    referenced twice would let a small file allocate many times its size."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or "type" not in node:
        raise ValueError(f"{path}: malformed checkpoint metadata: unexpected node {node!r}")
    kind = node["type"]
    if kind in ("tensor", "ndarray", "numpy_scalar"):
        key = node.get("key")
        if not isinstance(key, str):
            raise ValueError(f"{path}: malformed checkpoint metadata: tensor name {key!r} is not a string")
        if key in seen:
            raise ValueError(f"{path}: malformed checkpoint metadata: tensor {key!r} is referenced twice")
        seen.add(key)
        array = read(key)
        if array.dtype.str != node.get("dtype") or list(array.shape) != node.get("shape"):
            raise ValueError(f"{path}: malformed checkpoint: tensor {key!r} has dtype {array.dtype.str} and "
                             f"shape {list(array.shape)}, the metadata says {node.get('dtype')} and "
                             f"{node.get('shape')}")
        if kind == "tensor":
            return Tensor(array, requires_grad=bool(node.get("requires_grad", False)))
        if kind == "ndarray":
            return array
        if array.ndim:
            raise ValueError(f"{path}: malformed checkpoint: numpy scalar {key!r} has shape {list(array.shape)}")
        return array[()]
    if kind == "dict":
        result = {}
        for key, value in node["items"]:
            key = _decode(key, read, path, seen)
            if not _is_key(key):
                raise ValueError(f"{path}: malformed checkpoint metadata: dict key {key!r} is not a valid key")
            result[key] = _decode(value, read, path, seen)
        return result
    if kind == "list":
        return [_decode(item, read, path, seen) for item in node["items"]]
    if kind == "tuple":
        return tuple(_decode(item, read, path, seen) for item in node["items"])
    raise ValueError(f"{path}: malformed checkpoint metadata: unknown node type {kind!r}")


def cast_problem(array: np.ndarray, dtype: Any) -> str | None:
    """Why copying ``array`` into an array of ``dtype`` would lose what it means, or None when it would not.

    Floating and complex targets take any real number (rounded to the narrower type, as PyTorch's
    ``copy_`` does); integer targets take only whole numbers in their range (no 1.5, NaN or 2**40 into
    int32); bool targets only 0 and 1; real targets only complex values whose imaginary parts are 0.
    Strings and Python objects are never numbers.

    Args:
        array: the value to copy.
        dtype: the dtype of the destination.

    Returns:
        a short reason, or None.
    """
    dtype = np.dtype(dtype)
    if array.dtype.kind not in "biufc":
        return f"its dtype {array.dtype} is not numeric"
    if array.dtype.kind == "c" and dtype.kind != "c":
        if np.any(array.imag):
            return "it holds complex values with a nonzero imaginary part"
        array = array.real
    if dtype.kind in "fc" or array.size == 0:
        return None
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.trunc(array))):
        return "it holds values that are not whole numbers (or are NaN or infinite)"
    low, high = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    # Python ints compare exactly with any float or integer, where numpy would round uint64 against int64.
    if int(array.min()) < low or int(array.max()) > high:
        return f"it holds values outside [{low}, {high}] (from {array.min()} to {array.max()})"
    return None
