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

Writes to a path are atomic: the bytes go to a temporary file ``.<name>.<random>.tmp`` in the
target's directory, which is fsynced, renamed over the target with ``os.replace`` and the directory
fsynced. A reader sees the old file or the new one, never a mix. A process killed during a save can
leave its temporary file behind (at most one per interrupted save); :func:`load` never reads those
and they are safe to delete. ``f`` may also be a binary file object (PyTorch's ``torch.save(obj,
buffer)``): the bytes are written at its position, and durability is then the caller's.

Reading trusts nothing in the file: the header length is checked against the file's size before
the header is read, the JSON may nest at most ``MAX_DEPTH`` levels, and the structure is checked
entry by entry (every array it names exists, every marker has the right types), so a crafted file
raises :class:`~gradcnn.errors.CheckpointError`, even one whose checksum is valid. CUDA tensors
record their device (``"$device"``) so that ``map_location`` can map it, as in PyTorch; by default
everything comes back on the CPU.
"""

import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping

import numpy as np

from .backends import parse_device, to_device
from .errors import CheckpointError, DTypeError, ShapeError
from .tensor import Tensor

__all__ = ["load", "load_metadata", "save"]

FORMAT = "gradcnn"
VERSION = 1
_MAX_HEADER = 100 * 2**20  # safetensors' own limit on the JSON header
MAX_DEPTH = 200  # JSON nesting a checkpoint may have (a training checkpoint needs about 8)
_KINDS = ("tensor", "ndarray", "scalar")


# -- saving ----------------------------------------------------------------------------------

def save(obj, f, pickle_module=None, pickle_protocol=2, *, metadata=None):  # noqa: ARG001
    """Write ``obj`` (a state dict or a training checkpoint dict) to ``f``: a path (written
    atomically) or a binary file object, as ``torch.save(obj, f)``.

    ``metadata``: a JSON-able dict stored alongside (architecture name and config, say), returned by
    :func:`load_metadata`. ``pickle_module`` and ``pickle_protocol`` are accepted for PyTorch's
    signature and change nothing: nothing is pickled. Raises ``TypeError`` for a value a checkpoint
    cannot hold (or an ``f`` that is neither a path nor a binary file) and
    :class:`~gradcnn.errors.CheckpointError` (an ``OSError``) when the file cannot be written; an
    existing file at the path is then left as it was.
    """
    from safetensors.numpy import save as st_save

    target = _target(f, "save")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise DTypeError(f"save: metadata must be a dict, got {type(metadata).__name__}")
    if not isinstance(obj, Mapping):
        raise DTypeError(f"save: expected a dict (a state dict or a training checkpoint), "
                        f"got {type(obj).__name__}")
    arrays = {}
    doc = {"format": FORMAT, "version": VERSION, "structure": _encode(obj, (), arrays),
           "metadata": {} if metadata is None else metadata}
    if _too_deep(doc, MAX_DEPTH):
        raise DTypeError(f"save: the checkpoint or its metadata nests lists, tuples and dicts deeper "
                        f"than {MAX_DEPTH} levels (as JSON), more than a checkpoint may hold")
    try:
        doc["sha256"] = _digest(_dumps(doc), arrays)
    except (TypeError, ValueError) as e:
        raise DTypeError(f"save: metadata must be a JSON-able dict: {e}") from None
    data = st_save(arrays, metadata={FORMAT: _dumps(doc)})
    if isinstance(target, str):
        _write_atomic(target, data)
        return
    try:
        target.write(data)
        if hasattr(target, "flush"):
            target.flush()
    except OSError as e:
        raise CheckpointError(f"save: cannot write to {_name(target)} ({e.strerror or e})") from e


def _target(f, op):
    """``f`` as a path string, or the binary file object it is; TypeError for anything else."""
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fsdecode(f)
        if not path:
            raise DTypeError(f"{op}: f is an empty path")
        return path
    method = "write" if op == "save" else "read"
    if not callable(getattr(f, method, None)):
        raise DTypeError(f"{op}: f must be a path (str or os.PathLike) or a binary file object with "
                        f"{method}(), got {type(f).__name__}")
    if isinstance(f, io.TextIOBase):
        raise DTypeError(f"{op}: f is a text file ({_name(f)}); open it in binary mode "
                        f"('{method[0]}b'): checkpoints are bytes")
    return f


def _name(f):
    """How messages name a path or a file object."""
    if isinstance(f, str):
        return repr(f)
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, (str, bytes)) else f"the {type(f).__name__} given"


def _too_deep(value, limit):
    """Whether lists, tuples and dicts nest more than ``limit`` levels below ``value`` (iterative:
    no recursion, whatever the depth)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, tuple, Mapping)):
            if depth >= limit:
                return True
            children = node.values() if isinstance(node, Mapping) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _encode(value, keys, arrays):
    """The JSON skeleton of ``value``; arrays go into ``arrays`` under their key path."""
    if len(keys) > MAX_DEPTH:  # stops the recursion; save checks the JSON's depth afterwards
        raise DTypeError(f"save: {_where(keys[:3])}... nests lists, tuples and dicts deeper than "
                        f"{MAX_DEPTH} levels, more than a checkpoint may hold")
    if isinstance(value, (Tensor, np.ndarray, np.generic)) or hasattr(value, "__cuda_array_interface__"):
        kind = ("tensor" if isinstance(value, Tensor) else
                "scalar" if isinstance(value, np.generic) else "ndarray")
        array = _to_numpy(value, keys)
        name = "/".join(map(str, keys)) or "$root"
        while name in arrays:  # keys containing "/" can spell another entry's path
            name += "'"
        arrays[name] = array
        node = {"$array": name, "$type": kind}
        if isinstance(value, Tensor) and value.device != "cpu":
            node["$device"] = str(value.device)  # for map_location; the values are host copies
        return node
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
    raise DTypeError(f"save: {_where(keys)} is a {type(value).__name__}; a checkpoint holds "
                    f"tensors, arrays, numbers, strings, None, and lists, tuples and dicts of them")


def _encode_key(key, keys):
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    if isinstance(key, tuple):
        return {"$tuple": [_encode_key(k, keys) for k in key]}
    raise DTypeError(f"save: {_where(keys)} has a key of type {type(key).__name__}; dict keys must "
                    f"be strings, numbers, None or tuples of them")


def _to_numpy(value, keys):
    if isinstance(value, Tensor):
        value = value.detach().cpu()._data
    elif hasattr(value, "__cuda_array_interface__"):
        value = value.get()  # a CuPy array: checkpoints hold host copies
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"save: {_where(keys)} has dtype {array.dtype}; checkpoints hold bool, "
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

_REFUSE_PICKLE = (
    "gradcnn never unpickles: a pickle can run any code while it loads, and gradcnn checkpoints "
    "are safetensors files that hold only tensors, arrays, numbers, strings and containers, which "
    "load safely with weights_only=True (the default)"
)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None):  # noqa: ARG001
    """Read a checkpoint written by :func:`save` from ``f`` (a path or a binary file object) and
    return what was saved, as ``torch.load(f)``.

    Tensors come back as tensors (so ``model.load_state_dict(gradcnn.load(path))`` works), arrays as
    arrays, tuples as tuples, dicts (``OrderedDict`` included) as dicts in the same key order.
    Tensors come back on the CPU unless ``map_location`` says otherwise: a device (``"cuda:0"``,
    ``gradcnn.device("cpu")``), a dict from saved device to device (``{"cuda:1": "cuda:0"}``; a
    tensor saved on the CPU is ``"cpu"``), or a function ``(tensor, saved_device) -> tensor or
    None`` (None keeps the tensor on the CPU). ``weights_only=False`` and a ``pickle_module`` are
    refused: gradcnn never unpickles. ``mmap`` is accepted and changes nothing.

    Raises :class:`~gradcnn.errors.CheckpointError` naming the file and the reason when it is
    missing, is not a gradcnn checkpoint (a pickle file is refused without being unpickled), is
    truncated, changed after it was written, or crafted; ``TypeError`` when ``f`` is neither a
    path nor a binary file.
    """
    if weights_only is not None and not isinstance(weights_only, (bool, np.bool_)):
        raise DTypeError(f"load: weights_only must be a bool, got {weights_only!r}")
    if weights_only is False or pickle_module is not None:  # None means True, as in PyTorch 2.6+
        what = "weights_only=False" if weights_only is False else f"pickle_module={pickle_module!r}"
        raise ShapeError(f"load: {what} is refused: {_REFUSE_PICKLE}")
    place = _placement(map_location)
    doc, arrays, name = _read(f)
    return _decode(doc["structure"], arrays, place, name)


def load_metadata(f):
    """The ``metadata`` dict given to :func:`save` (checked like :func:`load`)."""
    return _read(f)[0]["metadata"]


def _placement(map_location):
    """``(tensor, saved_device) -> Tensor``, from ``map_location``."""
    if map_location is None:
        return lambda t, _saved: t
    if isinstance(map_location, str):
        device = parse_device(map_location)
        return lambda t, _saved: _moved(t, device)
    if isinstance(map_location, Mapping):
        table = {parse_device(k): parse_device(v) for k, v in map_location.items()}
        return lambda t, saved: _moved(t, table.get(saved, "cpu"))
    if callable(map_location):
        def place(t, saved):
            result = map_location(t, saved)
            if result is None:
                return t
            if not isinstance(result, Tensor):
                raise DTypeError(f"load: map_location returned a {type(result).__name__}; it must "
                                "return a Tensor or None")
            return result

        return place
    raise DTypeError(f"load: map_location must be None, a device, a dict of devices or a function, "
                    f"got {type(map_location).__name__}")


def _moved(t, device):
    return t if device == "cpu" else Tensor._make(to_device(t._data, device))


def _read(f):
    """``(doc, arrays, name)``: the checked gradcnn JSON, the arrays, and the file's name."""
    from safetensors.numpy import load as st_load

    target = _target(f, "load")
    name = _name(target)
    with _opened(target, name) as (fh, size):
        raw = _read_checked(fh, size, name)
    header = _header(raw, name)
    try:
        arrays = st_load(raw)
    except BaseException as e:  # SafetensorError, or a Rust panic (a BaseException): all mean corrupt
        if not isinstance(e, Exception) and type(e).__name__ != "PanicException":
            raise
        raise CheckpointError(f"load: {name} is not a valid safetensors file "
                              f"({type(e).__name__}: {e})") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    text = meta.get(FORMAT) if isinstance(meta, dict) else None
    if not isinstance(text, str):
        raise CheckpointError(f"load: {name} is not a gradcnn checkpoint (a safetensors file "
                              f"without gradcnn metadata; read it with safetensors.numpy.load_file)")
    doc = _parse_json(text, name, "gradcnn metadata")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "sha256" not in doc:
        raise CheckpointError(f"load: {name} is not a gradcnn checkpoint (metadata has no "
                              f"format {FORMAT!r} and sha256)")
    if doc.get("version") != VERSION:
        raise CheckpointError(f"load: {name} has checkpoint format version {doc.get('version')!r}; "
                              f"this gradcnn reads version {VERSION}")
    if _too_deep(doc, MAX_DEPTH):
        raise CheckpointError(f"load: {name}: gradcnn metadata nests lists and dicts deeper than "
                              f"{MAX_DEPTH} levels, which save never writes: the file was crafted")
    expected = doc.pop("sha256")
    got = _digest(_dumps(doc), arrays)
    if got != expected:
        raise CheckpointError(f"load: {name}: checksum mismatch: file changed after it was "
                              f"written (expected {expected}, got {got})")
    if "structure" not in doc or not isinstance(doc.get("metadata"), dict):
        raise CheckpointError(f"load: {name}: gradcnn metadata lacks its structure or its metadata "
                              "dict: the file was crafted")
    return doc, arrays, name


@contextlib.contextmanager
def _opened(target, name):
    """``(binary file, bytes left in it or None)``; errors as CheckpointError naming the file."""
    if not isinstance(target, str):
        yield target, _remaining(target)
        return
    try:
        fh = open(target, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise CheckpointError(f"load: no checkpoint at {name} (file not found)") from None
    except IsADirectoryError:
        raise CheckpointError(f"load: {name} is a directory, not a checkpoint file") from None
    except OSError as e:
        raise CheckpointError(f"load: cannot read {name} ({e.strerror or e})") from e
    with fh:
        try:
            size = os.fstat(fh.fileno()).st_size
        except OSError:
            size = None
        try:
            yield fh, size
        except IsADirectoryError:  # some platforms open a directory and fail on read
            raise CheckpointError(f"load: {name} is a directory, not a checkpoint file") from None


def _remaining(fh):
    """Bytes from the position of a seekable file object to its end, or None."""
    try:
        if not fh.seekable():
            return None
        here = fh.tell()
        end = fh.seek(0, os.SEEK_END)
        fh.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


def _read_checked(fh, size, name):
    """The file's bytes, read in three parts: the 8-byte header length, checked against the size
    of the file before the header is read, then the header, then the tensors."""
    try:
        head = fh.read(8)
        if not isinstance(head, bytes):
            raise DTypeError(f"load: {name} gives {type(head).__name__}, not bytes; open it in "
                            "binary mode ('rb')")
        if len(head) < 8:
            raise CheckpointError(f"load: {name} is not a gradcnn checkpoint ({len(head)} bytes; a "
                                  f"safetensors file starts with an 8-byte header length){_hint(head, head)}")
        n = int.from_bytes(head, "little")
        left = None if size is None else size - 8
        if left is not None and n > left:
            why = f"but the file has {left} bytes after the 8-byte length field"
        elif n > _MAX_HEADER:
            why = f"more than the {_MAX_HEADER} bytes safetensors allows"
        else:
            why = None
        if why:
            raise CheckpointError(f"load: {name} is truncated or not a gradcnn checkpoint (header "
                                  f"length {n} bytes, {why}){_hint(head, _tail(fh))}")
        header = fh.read(n)
        rest = fh.read()
    except OSError as e:
        if isinstance(e, (CheckpointError, IsADirectoryError)):
            raise
        raise CheckpointError(f"load: cannot read {name} ({e.strerror or e})") from e
    if len(header) < n:
        raise CheckpointError(f"load: {name} is truncated (header length {n} bytes, but only "
                              f"{len(header)} follow the 8-byte length field){_hint(head, header[-16:])}")
    return head + header + rest


def _tail(fh):
    """The last bytes of a seekable file, for the pickle hint; the position is kept."""
    try:
        here = fh.tell()
        fh.seek(max(0, fh.seek(0, os.SEEK_END) - 16))
        tail = fh.read(16)
        fh.seek(here)
        return tail if isinstance(tail, bytes) else b""
    except (AttributeError, OSError, ValueError):
        return b""


def _parse_json(text, name, what):
    try:
        return json.loads(text)
    except RecursionError:
        raise CheckpointError(f"load: {name}: {what} nests deeper than Python can parse: the file "
                              "was crafted") from None
    except ValueError as e:
        raise CheckpointError(f"load: {name}: {what} is not valid JSON ({e})") from None


def _header(raw, name):
    """The parsed JSON header, after the checks that give a clearer reason than the parser would
    (the length was checked against the file's size when it was read)."""
    n = int.from_bytes(raw[:8], "little")
    text = raw[8:8 + n]
    end = text.rfind(b"}") + 1
    # The header is padded with spaces only; other JSON whitespace there would go unnoticed.
    if end == 0 or text[end:].strip(b" "):
        raise CheckpointError(f"load: {name}: safetensors header is corrupt (bytes after its end)")
    try:
        return json.loads(text)
    except RecursionError:
        raise CheckpointError(f"load: {name}: safetensors header nests deeper than Python can "
                              "parse: the file was crafted") from None
    except ValueError as e:
        raise CheckpointError(f"load: {name}: safetensors header is not valid JSON "
                              f"({e}){_hint(raw[:8], raw[-16:])}") from None


def _hint(head, tail):
    """What a file that failed to parse as safetensors looks like, for the error message."""
    if head[:1] == b"\x80" or tail.rstrip()[-1:] == b".":
        return ("; it looks like a pickle file, which gradcnn never unpickles: checkpoints are "
                "safetensors files")
    if head[:4] == b"PK\x03\x04":
        return "; it is a zip archive (a torch.save file?), not a safetensors file"
    return ""


def _decode(node, arrays, place, name, where="structure"):
    """The saved value of ``node``, checked: a crafted structure is a CheckpointError (depth was
    bounded before, so the recursion is too)."""
    if isinstance(node, list):
        return [_decode(v, arrays, place, name, f"{where}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    markers = [k for k in node if k.startswith("$")]
    if not markers:
        return {k: _decode(v, arrays, place, name, f"{where}[{k!r}]") for k, v in node.items()}
    kind = markers[0]
    if kind == "$array":
        return _decode_array(node, arrays, place, name, where)
    if kind == "$tuple" and set(node) == {"$tuple"} and isinstance(node["$tuple"], list):
        return tuple(_decode(v, arrays, place, name, f"{where}[{i}]") for i, v in enumerate(node["$tuple"]))
    if kind == "$items" and set(node) == {"$items"} and isinstance(node["$items"], list):
        out = {}
        for i, item in enumerate(node["$items"]):
            if not (isinstance(item, list) and len(item) == 2):
                raise _crafted(name, f"{where}: item {i} is not a [key, value] pair")
            key = _decode(item[0], arrays, place, name, f"{where} key {i}")
            if isinstance(key, (Tensor, np.ndarray, list, dict)) or not _hashable(key):
                raise _crafted(name, f"{where}: key {i} is a {type(key).__name__}")
            out[key] = _decode(item[1], arrays, place, name, f"{where}[{key!r}]")
        return out
    raise _crafted(name, f"{where} is a dict with keys {sorted(node)}, which save never writes")


def _decode_array(node, arrays, place, name, where):
    array_name, kind, device = node.get("$array"), node.get("$type"), node.get("$device", "cpu")
    if not set(node) <= {"$array", "$type", "$device"} or not isinstance(array_name, str) \
            or kind not in _KINDS or not isinstance(device, str):
        raise _crafted(name, f"{where} is a malformed array entry {node!r}")
    if array_name not in arrays:
        raise _crafted(name, f"{where} names the array {array_name!r}, which the file does not hold")
    array = arrays[array_name]
    if kind == "scalar":
        if array.ndim != 0:
            raise _crafted(name, f"{where} is a scalar but its array has shape {array.shape}")
        return array[()]
    if kind == "ndarray":
        return array
    try:
        saved = parse_device(device)
    except Exception:  # a DeviceError: the name is not a device
        raise _crafted(name, f"{where} was saved on {device!r}, which is not a device") from None
    return place(Tensor(array), saved)


def _hashable(key):
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _crafted(name, reason):
    return CheckpointError(f"load: {name}: {reason}: the file was crafted or corrupted after its "
                           "checksum was computed")
