"""Checkpoints: :func:`save` and :func:`load`, safetensors files that are never unpickled.

A checkpoint is a dict: a state dict (names to tensors or arrays), or a training checkpoint that
nests state dicts, optimizer and scheduler state, numbers, strings, lists, tuples and dicts.
Tensors and arrays on a GPU are written from host copies and come back on the CPU (NumPy arrays,
CPU tensors); ``model.load_state_dict`` then copies them to wherever the model lives.

The file is an ordinary safetensors file:

* every array (and tensor, and NumPy scalar) becomes a safetensors tensor named by its key path
  joined with ``/``: ``conv1.weight`` in a state dict, ``model/conv1.weight`` or
  ``optimizer/state/0/exp_avg`` in a training checkpoint;
* the header's ``__metadata__`` holds one key, ``gradcnn``: compact JSON with ``format``
  (``"gradcnn"``), ``version`` (1), ``structure`` (the dict with each array replaced by
  ``{"$array": name, "$type": "tensor" | "ndarray" | "scalar"}``, tuples by ``{"$tuple": [...]}``
  and dicts whose keys are not plain strings, or start with ``$``, by ``{"$items": [[k, v], ...]}``),
  ``metadata`` (what the caller passed: architecture name and config, say) and ``sha256``.

``sha256`` is the SHA-256 of the rest of that JSON (as written, without the ``sha256`` key) followed
by, for every tensor in name order, ``[name, dtype, shape]`` as JSON and the tensor's bytes. It
covers the values, the dtypes, the shapes and the metadata, so a file changed after it was written
fails to load instead of loading different values.

Writes are atomic: the bytes go to a temporary file ``.<name>.<random>.tmp`` in the target's
directory, which is fsynced, renamed over the target with ``os.replace`` and the directory fsynced.
A reader sees the old file or the new one, never a mix. A process killed during a save can leave
its temporary file behind (at most one per interrupted save); :func:`load` never reads those and
they are safe to delete.
"""

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping

import numpy as np

from .errors import CheckpointError
from .tensor import Tensor

__all__ = ["load", "load_metadata", "save"]

FORMAT = "gradcnn"
VERSION = 1
_MAX_HEADER = 100 * 2**20  # safetensors' own limit on the JSON header


# -- saving ----------------------------------------------------------------------------------

def save(obj, path, *, metadata=None):
    """Write ``obj`` (a state dict or a training checkpoint dict) to ``path`` atomically.

    ``metadata``: a JSON-able dict stored alongside (architecture name and config, say), returned by
    :func:`load_metadata`. Raises ``TypeError`` for a value a checkpoint cannot hold and
    :class:`~gradcnn.errors.CheckpointError` (an ``OSError``) when the file cannot be written; an
    existing file at ``path`` is then left as it was.
    """
    from safetensors.numpy import save as st_save

    path = os.fspath(path)
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"save: metadata must be a dict, got {type(metadata).__name__}")
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: expected a dict (a state dict or a training checkpoint), "
                        f"got {type(obj).__name__}")
    arrays = {}
    doc = {"format": FORMAT, "version": VERSION, "structure": _encode(obj, (), arrays),
           "metadata": {} if metadata is None else metadata}
    try:
        doc["sha256"] = _digest(_dumps(doc), arrays)
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: metadata must be a JSON-able dict: {e}") from None
    _write_atomic(path, st_save(arrays, metadata={FORMAT: _dumps(doc)}))


def _encode(value, keys, arrays):
    """The JSON skeleton of ``value``; arrays go into ``arrays`` under their key path."""
    if isinstance(value, (Tensor, np.ndarray, np.generic)) or hasattr(value, "__cuda_array_interface__"):
        kind = ("tensor" if isinstance(value, Tensor) else
                "scalar" if isinstance(value, np.generic) else "ndarray")
        array = _to_numpy(value, keys)
        name = "/".join(map(str, keys)) or "$root"
        while name in arrays:  # keys containing "/" can spell another entry's path
            name += "'"
        arrays[name] = array
        return {"$array": name, "$type": kind}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_encode(v, (*keys, i), arrays) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, (*keys, i), arrays) for i, v in enumerate(value)]}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v, (*keys, k), arrays) for k, v in value.items()}
        return {"$items": [[_encode_key(k, keys), _encode(v, (*keys, k), arrays)]
                           for k, v in value.items()]}
    raise TypeError(f"save: {_where(keys)} is a {type(value).__name__}; a checkpoint holds "
                    f"tensors, arrays, numbers, strings, None, and lists, tuples and dicts of them")


def _encode_key(key, keys):
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    if isinstance(key, tuple):
        return {"$tuple": [_encode_key(k, keys) for k in key]}
    raise TypeError(f"save: {_where(keys)} has a key of type {type(key).__name__}; dict keys must "
                    f"be strings, numbers, None or tuples of them")


def _to_numpy(value, keys):
    if isinstance(value, Tensor):
        value = value.detach().cpu().data
    elif hasattr(value, "__cuda_array_interface__"):
        value = value.get()  # a CuPy array: checkpoints hold host copies
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"save: {_where(keys)} has dtype {array.dtype}; checkpoints hold bool, "
                        f"integer and floating arrays")
    return array.astype(array.dtype.newbyteorder("<"), order="C", copy=False)  # keeps 0-d arrays 0-d


def _where(keys):
    return "checkpoint" + "".join(f"[{k!r}]" for k in keys)


def _dumps(doc):
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def _digest(text, arrays):
    h = hashlib.sha256(text.encode("ascii"))
    for name in sorted(arrays):
        a = arrays[name]
        h.update(b"\n" + json.dumps([name, a.dtype.str, list(a.shape)]).encode() + b"\n")
        h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    return h.hexdigest()


def _write_atomic(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CheckpointError(f"save: {path!r} is a directory, not a file path")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=directory)
    except OSError as e:
        raise CheckpointError(f"save: cannot write {path!r}: cannot create a temporary file in "
                              f"{directory!r} ({e.strerror or e})") from e
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):  # mkstemp makes the file 0600; give it the usual mode
                os.fchmod(f.fileno(), _file_mode(path))
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise CheckpointError(f"save: cannot write {path!r} ({e.strerror or e}); "
                                  f"any previous file there is unchanged") from e
        raise
    _fsync_directory(directory)


def _file_mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    # Makes the rename itself durable. Not every platform or file system can open or fsync a
    # directory (Windows cannot); the file's contents are already on disk either way.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- loading ---------------------------------------------------------------------------------

def load(path):
    """Read a checkpoint written by :func:`save` and return what was saved.

    Tensors come back as tensors (so ``model.load_state_dict(gradcnn.load(path))`` works), arrays as
    arrays, tuples as tuples, dicts (``OrderedDict`` included) as dicts in the same key order.
    Raises :class:`~gradcnn.errors.CheckpointError` naming the path and the reason when the file is
    missing, is not a gradcnn checkpoint (a pickle file is refused without being unpickled), is
    truncated, or changed after it was written.
    """
    doc, arrays = _read(path)
    return _decode(doc["structure"], arrays)


def load_metadata(path):
    """The ``metadata`` dict given to :func:`save` (checked like :func:`load`)."""
    return _read(path)[0]["metadata"]


def _read(path):
    from safetensors.numpy import load as st_load

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise CheckpointError(f"load: no checkpoint at {path!r} (file not found)") from None
    except IsADirectoryError:
        raise CheckpointError(f"load: {path!r} is a directory, not a checkpoint file") from None
    except OSError as e:
        raise CheckpointError(f"load: cannot read {path!r} ({e.strerror or e})") from e
    header = _header(raw, path)
    try:
        arrays = st_load(raw)
    except BaseException as e:  # SafetensorError, or a Rust panic (a BaseException): all mean corrupt
        if not isinstance(e, Exception) and type(e).__name__ != "PanicException":
            raise
        raise CheckpointError(f"load: {path!r} is not a valid safetensors file "
                              f"({type(e).__name__}: {e})") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    text = meta.get(FORMAT) if isinstance(meta, dict) else None
    if not isinstance(text, str):
        raise CheckpointError(f"load: {path!r} is not a gradcnn checkpoint (a safetensors file "
                              f"without gradcnn metadata; read it with safetensors.numpy.load_file)")
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise CheckpointError(f"load: {path!r}: gradcnn metadata is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "sha256" not in doc:
        raise CheckpointError(f"load: {path!r} is not a gradcnn checkpoint (metadata has no "
                              f"format {FORMAT!r} and sha256)")
    if doc.get("version") != VERSION:
        raise CheckpointError(f"load: {path!r} has checkpoint format version {doc.get('version')!r}; "
                              f"this gradcnn reads version {VERSION}")
    expected = doc.pop("sha256")
    got = _digest(_dumps(doc), arrays)
    if got != expected:
        raise CheckpointError(f"load: {path!r}: checksum mismatch: file changed after it was "
                              f"written (expected {expected}, got {got})")
    return doc, arrays


def _header(raw, path):
    """The parsed JSON header, after the checks that give a clearer reason than the parser would."""
    if len(raw) < 8:
        raise CheckpointError(f"load: {path!r} is not a gradcnn checkpoint ({len(raw)} bytes; a "
                              f"safetensors file starts with an 8-byte header length){_hint(raw)}")
    n = int.from_bytes(raw[:8], "little")
    if n > min(len(raw) - 8, _MAX_HEADER):
        raise CheckpointError(f"load: {path!r} is truncated or not a gradcnn checkpoint (header "
                              f"length {n} bytes, but the file has {len(raw) - 8} bytes after "
                              f"the 8-byte length field){_hint(raw)}")
    text = raw[8:8 + n]
    end = text.rfind(b"}") + 1
    # The header is padded with spaces only; other JSON whitespace there would go unnoticed.
    if end == 0 or text[end:].strip(b" "):
        raise CheckpointError(f"load: {path!r}: safetensors header is corrupt (bytes after its end)")
    try:
        return json.loads(text)
    except ValueError as e:
        raise CheckpointError(f"load: {path!r}: safetensors header is not valid JSON "
                              f"({e}){_hint(raw)}") from None


def _hint(raw):
    """What a file that failed to parse as safetensors looks like, for the error message."""
    if raw[:1] == b"\x80" or raw.rstrip()[-1:] == b".":
        return ("; it looks like a pickle file, which gradcnn never unpickles: checkpoints are "
                "safetensors files")
    if raw[:4] == b"PK\x03\x04":
        return "; it is a zip archive (a torch.save file?), not a safetensors file"
    return ""


def _decode(node, arrays):
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if "$array" in node:
        array = arrays[node["$array"]]
        kind = node.get("$type")
        return Tensor(array) if kind == "tensor" else array[()] if kind == "scalar" else array
    if "$tuple" in node:
        return tuple(_decode(v, arrays) for v in node["$tuple"])
    if "$items" in node:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in node["$items"]}
    return {k: _decode(v, arrays) for k, v in node.items()}
