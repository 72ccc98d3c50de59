"""gradcnn.load given hostile safetensors files: each is a CheckpointError naming the file, before
any large allocation, whatever the header claims (lengths, shapes, offsets, dtypes, nesting)."""

import io
import json
import re
import struct

import numpy as np
import pytest

import gradcnn
from gradcnn import io as gio
from gradcnn.errors import CheckpointError


def _framed(header):
    """A file of the 8-byte little-endian length followed by ``header`` (bytes)."""
    return struct.pack("<Q", len(header)) + header


def _safetensors(entries, metadata):
    """safetensors bytes: ``entries`` (name -> header entry) over 4 zero bytes of data, and
    ``metadata`` as the header's ``__metadata__``."""
    header = dict(entries)
    header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return _framed(text + b" " * (-len(text) % 8)) + b"\0" * 4


def _signed(structure, metadata=None, version=1):
    """A checkpoint over one float32 array ``w`` whose gradcnn document is ``structure``, with a
    valid checksum: only the structure checks can refuse it."""
    w = np.zeros(1, np.float32)
    doc = {"format": "gradcnn", "version": version, "structure": structure,
           "metadata": {} if metadata is None else metadata}
    doc["sha256"] = gio._digest(gio._dumps(doc), {"w": w})
    return _safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, {"gradcnn": json.dumps(doc)})


F32 = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
HOSTILE = {
    "length-2**64-1": struct.pack("<Q", 2**64 - 1) + b"{}",
    "length-0": struct.pack("<Q", 0),
    "header-null": _framed(b"null    "),
    "header-string": _framed(b'"abc"   '),
    "header-nan": _framed(b'{"a":NaN}'),
    "header-not-utf8": _framed(b'{"\xff":1}'),
    "header-huge-number": _framed(b'{"a":' + b"9" * 5000 + b"}"),
    "header-newline-padding": _framed(b"{}\n\n\n\n\n\n"),
    "header-deep-lists": _framed(b"[" * 2000 + b"]" * 2000),
    "header-deep-dicts": _framed(b'{"a":' * 3000 + b"1" + b"}" * 3000),
    "entry-not-a-dict": _safetensors({"w": 5}, {"gradcnn": "{}"}),
    "dtype-unknown": _safetensors({"w": {**F32, "dtype": "ZZ"}}, {"gradcnn": "{}"}),
    "dtype-bfloat16": _safetensors({"w": {**F32, "dtype": "BF16", "shape": [2]}}, {"gradcnn": "{}"}),
    "shape-2**80-elements": _safetensors({"w": {**F32, "shape": [2**40, 2**40]}}, {"gradcnn": "{}"}),
    "shape-negative": _safetensors({"w": {**F32, "shape": [-1]}}, {"gradcnn": "{}"}),
    "offsets-past-the-end": _safetensors({"w": {**F32, "data_offsets": [0, 10**12]}}, {"gradcnn": "{}"}),
    "offsets-strings": _safetensors({"w": {**F32, "data_offsets": ["a", "b"]}}, {"gradcnn": "{}"}),
    "metadata-list": _safetensors({"w": F32}, [1]),
    "gradcnn-int": _safetensors({"w": F32}, {"gradcnn": 5}),
    "gradcnn-list": _safetensors({"w": F32}, {"gradcnn": "[1, 2]"}),
    "gradcnn-deep": _safetensors({"w": F32}, {"gradcnn": "[" * 5000 + "]" * 5000}),
    "sha256-list": _safetensors({"w": F32}, {"gradcnn": json.dumps(
        {"format": "gradcnn", "version": 1, "structure": {}, "metadata": {}, "sha256": [1]})}),
    "version-list": _signed({}, version=[1]),
    "structure-nests-300": _signed(json.loads("[" * 300 + "]" * 300)),
    "array-missing": _signed({"$array": "nope", "$type": "tensor"}),
    "array-name-int": _signed({"$array": 5, "$type": "tensor"}),
    "array-type-list": _signed({"$array": "w", "$type": ["tensor"]}),
    "array-device-int": _signed({"$array": "w", "$type": "tensor", "$device": 5}),
    "array-device-tpu": _signed({"$array": "w", "$type": "tensor", "$device": "tpu:0"}),
    "scalar-of-shape-1": _signed({"$array": "w", "$type": "scalar"}),
    "items-not-pairs": _signed({"$items": [[1]]}),
    "items-not-a-list": _signed({"$items": 5}),
    "items-list-key": _signed({"$items": [[[1, 2], 3]]}),
    "items-dict-key": _signed({"$items": [[{"a": 1}, 3]]}),
    "items-tuple-of-list-key": _signed({"$items": [[{"$tuple": [[1]]}, 3]]}),
    "tuple-not-a-list": _signed({"$tuple": 5}),
    "marker-unknown": _signed({"$foo": 5}),
    "metadata-not-a-dict": _signed({}, metadata=[]),
}

STRUCTURE_ONLY = {name for name in HOSTILE if name.startswith(("structure-", "array-", "scalar-", "items-", "tuple-",
                                                                "marker-"))}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_are_checkpoint_errors_naming_the_file(tmp_path, name):
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(HOSTILE[name])
    with pytest.raises(CheckpointError, match=re.escape(f"{name}.safetensors")):
        gradcnn.load(path)
    with pytest.raises(CheckpointError):
        gradcnn.load(io.BytesIO(HOSTILE[name]))
    if name not in STRUCTURE_ONLY:  # the metadata of those is sound: load_metadata reads it
        with pytest.raises(CheckpointError):
            gio.load_metadata(path)


def test_a_signed_file_with_a_sound_structure_loads(tmp_path):
    # the crafted files above fail for what they change, not for how they were made
    path = tmp_path / "sound.safetensors"
    path.write_bytes(_signed({"a": {"$array": "w", "$type": "tensor"}, "t": {"$tuple": [1, "x"]}}))
    loaded = gradcnn.load(path)
    assert loaded["t"] == (1, "x") and loaded["a"].shape == (1,)
