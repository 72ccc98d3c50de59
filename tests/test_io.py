"""Checkpoints: round trips, corruption, pickle refusal, atomic writes under SIGKILL."""

import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import gradcnn
from gradcnn import nn
from gradcnn.errors import CheckpointError
from gradcnn.io import load, load_metadata, save


def _model():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3),
    )


def _checkpoint():
    gradcnn.manual_seed(0)
    model = _model()
    rng = np.random.default_rng(1)
    return {
        "model": model.state_dict(),
        "optimizer": {
            "state": {0: {"step": 7, "exp_avg": rng.standard_normal((4, 2, 3, 3)).astype(np.float32)},
                      1: {"step": 7, "exp_avg": rng.standard_normal(4)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "name": "all"}],
        },
        "scheduler": {"last_epoch": 3, "gamma": 0.5, "milestones": None},
        "step": 12,
        "rng": gradcnn.get_rng_state(),
        "config": {"architecture": "tiny", "widths": [2, 4], "dropout": float("nan"),
                   "$odd": True, "counts": np.int64(5), "mask": np.array([True, False])},
        "history": [],
    }


def _assert_same(a, b):
    # an OrderedDict comes back as a dict with the same key order
    assert type(a) is type(b) or isinstance(a, dict) and type(b) is dict, (type(a), type(b))
    if isinstance(a, gradcnn.Tensor):
        a, b = a._data, b._data
    if isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_state_dict_round_trip_gives_identical_outputs(tmp_path):
    gradcnn.manual_seed(0)
    model = _model()
    x = gradcnn.randn(2, 2, 5, 5)
    model(x)  # moves the BatchNorm running statistics away from their initial values
    model.eval()
    path = tmp_path / "model.safetensors"
    save(model.state_dict(), path, metadata={"architecture": "tiny", "num_classes": 3})
    gradcnn.manual_seed(1)
    fresh = _model()
    fresh.load_state_dict(gradcnn.load(path))
    fresh.eval()
    np.testing.assert_array_equal(fresh(x)._data, model(x)._data)
    assert load_metadata(path) == {"architecture": "tiny", "num_classes": 3}
    state = load(path)
    assert list(state) == list(model.state_dict())
    assert all(isinstance(v, gradcnn.Tensor) for v in state.values())


def test_a_state_dict_is_a_plain_safetensors_file_with_its_own_names(tmp_path):
    from safetensors.numpy import load_file

    state = _model().state_dict()
    save(state, tmp_path / "m.safetensors")
    plain = load_file(str(tmp_path / "m.safetensors"))
    assert set(plain) == set(state)
    for k, v in state.items():
        np.testing.assert_array_equal(plain[k], v._data)


def test_training_checkpoint_round_trip(tmp_path):
    state = _checkpoint()
    path = tmp_path / "ckpt.safetensors"
    gradcnn.save(state, path)
    back = gradcnn.load(path)
    _assert_same(state, back)
    assert isinstance(back["optimizer"]["state"][0]["exp_avg"], np.ndarray)
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    gradcnn.set_rng_state(back["rng"])  # 128-bit integers survive
    from safetensors.numpy import load_file

    names = set(load_file(str(path)))
    assert "model/0.weight" in names and "optimizer/state/0/exp_avg" in names
    assert load_metadata(path) == {}


def test_keys_that_spell_the_same_path_do_not_collide(tmp_path):
    state = {"a/b": np.zeros(2), "a": {"b": np.ones(2)}, "": np.full(1, 2.0)}
    save(state, tmp_path / "c.safetensors")
    _assert_same(state, load(tmp_path / "c.safetensors"))


@pytest.mark.parametrize("value, what", [
    ({1, 2}, "set"), (object(), "object"), (np.array(["x"]), "dtype <U1"),
    (np.array([1 + 2j]), "dtype complex128"),
])
def test_values_a_checkpoint_cannot_hold_are_named(tmp_path, value, what):
    with pytest.raises(TypeError, match=rf"checkpoint\['opt'\]\[0\].*{what}"):
        save({"opt": [value]}, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)


def test_metadata_must_be_json_able(tmp_path):
    with pytest.raises(TypeError, match="metadata"):
        save({}, tmp_path / "x.safetensors", metadata={"f": object()})
    with pytest.raises(TypeError, match="dict"):
        save([], tmp_path / "x.safetensors")


def _saved(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save(_checkpoint(), path, metadata={"architecture": "tiny"})
    return path, path.read_bytes()


def test_every_single_byte_change_is_refused(tmp_path):
    path, good = _saved(tmp_path)
    rng = random.Random(0)
    target = tmp_path / "bad.safetensors"
    # half of the flips in the header (JSON, metadata), half anywhere
    header_end = 8 + int.from_bytes(good[:8], "little")
    for trial in range(300):
        pos = rng.randrange(header_end) if trial % 2 else rng.randrange(len(good))
        bad = bytearray(good)
        bad[pos] ^= rng.randrange(1, 256)
        target.write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match="bad.safetensors"):
            load(target)


def test_every_truncation_is_refused(tmp_path):
    path, good = _saved(tmp_path)
    rng = random.Random(1)
    target = tmp_path / "short.safetensors"
    for size in [0, 1, 7, 8, len(good) - 1] + [rng.randrange(len(good)) for _ in range(295)]:
        target.write_bytes(good[:size])
        with pytest.raises(CheckpointError, match="short.safetensors"):
            load(target)


def test_a_change_in_the_values_is_a_checksum_mismatch(tmp_path):
    path, good = _saved(tmp_path)
    bad = bytearray(good)
    bad[-1] ^= 1
    path.write_bytes(bytes(bad))
    with pytest.raises(CheckpointError, match="checksum mismatch: file changed after it was written "
                                              r"\(expected [0-9a-f]{64}, got [0-9a-f]{64}\)"):
        load(path)


class _Bomb:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_pickle_is_refused_without_being_unpickled(tmp_path):
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Bomb(control)))
    assert control.exists()  # the payload does run when unpickled
    marker = tmp_path / "marker"
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"evil{protocol}.pt"
        path.write_bytes(pickle.dumps({"weight": _Bomb(marker)}, protocol=protocol))
        with pytest.raises(CheckpointError, match="not a gradcnn checkpoint.*pickle"):
            load(path)
        assert not marker.exists()


def test_a_safetensors_file_without_gradcnn_metadata_is_refused(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3)}, str(tmp_path / "hf.safetensors"))
    with pytest.raises(CheckpointError, match="not a gradcnn checkpoint"):
        load(tmp_path / "hf.safetensors")


def test_missing_paths_and_directories_are_named(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*nope\.safetensors.*not found"):
        load(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="is a directory"):
        load(tmp_path)
    with pytest.raises(CheckpointError, match="is a directory"):
        save({}, tmp_path)


def test_writing_where_one_cannot_names_the_path_and_leaves_the_old_file(tmp_path):
    if os.geteuid() == 0:  # root writes into read-only directories; /proc refuses even root
        target = "/proc/gradcnn-test.safetensors"
        with pytest.raises(OSError, match="gradcnn-test.safetensors"):
            save({"w": np.ones(2)}, target)
        return
    path = tmp_path / "ro" / "w.safetensors"
    path.parent.mkdir()
    save({"w": np.ones(2)}, path)
    path.parent.chmod(0o555)
    try:
        with pytest.raises(OSError, match="w.safetensors"):
            save({"w": np.zeros(2)}, path)
    finally:
        path.parent.chmod(0o755)
    np.testing.assert_array_equal(load(path)["w"], np.ones(2))


def test_saving_keeps_the_file_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.ones(2)}, path)
    path.chmod(0o640)
    save({"w": np.zeros(2)}, path)
    assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["m.safetensors"]


_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from gradcnn.io import save
    path, start = sys.argv[1], int(sys.argv[2])
    print("ready", flush=True)
    version = start
    while True:
        version += 1
        weights = np.full(5_000_000, version, dtype=np.float32)  # 20 MB
        save({"model": {"w": weights}, "step": version}, path, metadata={"version": version})
""")


def test_a_save_killed_at_any_moment_leaves_a_complete_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"model": {"w": np.zeros(5_000_000, np.float32)}, "step": 0}, path, metadata={"version": 0})
    rng = random.Random(2)
    version, advanced, began = 0, 0, time.monotonic()
    for trial in range(10):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str((trial + 1) * 1000)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        state = load(path)
        step = state["step"]
        assert load_metadata(path) == {"version": step}
        w = state["model"]["w"]
        assert w.shape == (5_000_000,) and w[0] == step and w[-1] == step and (w == step).all()
        advanced += step != version
        version = step
        # a killed save may leave its own temporary file, never more than that one
        leftovers = [n for n in os.listdir(tmp_path) if n != path.name]
        assert len(leftovers) <= 1, leftovers
        assert all(n.startswith(f".{path.name}.") and n.endswith(".tmp") for n in leftovers)
        for name in leftovers:
            os.unlink(tmp_path / name)
        if time.monotonic() - began > 15:
            break
    assert advanced > 0  # the writer did replace the file while it was being killed


def test_the_format_is_documented_json_in_the_header(tmp_path):
    path, good = _saved(tmp_path)
    n = int.from_bytes(good[:8], "little")
    doc = json.loads(json.loads(good[8:8 + n])["__metadata__"]["gradcnn"])
    assert doc["format"] == "gradcnn" and doc["version"] == 1 and len(doc["sha256"]) == 64
    assert doc["metadata"] == {"architecture": "tiny"}
    assert doc["structure"]["step"] == 12
    assert doc["structure"]["model"]["0.weight"] == {"$array": "model/0.weight", "$type": "tensor"}


def test_import_gradcnn_does_not_import_safetensors():
    code = "import sys, gradcnn; print('safetensors' in sys.modules, 'gradcnn.io' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- file objects, PyTorch's signatures -----------------------------------------------------------


def test_save_and_load_through_binary_file_objects(tmp_path):
    import io

    state = _checkpoint()
    buffer = io.BytesIO()
    gradcnn.save(state, buffer)
    save(state, tmp_path / "same.safetensors")
    assert buffer.getvalue() == (tmp_path / "same.safetensors").read_bytes()
    buffer.seek(0)
    _assert_same(state, gradcnn.load(buffer))
    with open(tmp_path / "f.safetensors", "wb") as f:
        gradcnn.save(state, f, metadata={"k": 1})
    with open(tmp_path / "f.safetensors", "rb") as f:
        _assert_same(state, gradcnn.load(f))
    with open(tmp_path / "f.safetensors", "rb") as f:
        assert load_metadata(f) == {"k": 1}
    # a file object is read from its position, as torch.load reads it
    buffer = io.BytesIO(b"prefix" + (tmp_path / "f.safetensors").read_bytes())
    buffer.seek(6)
    _assert_same(state, gradcnn.load(buffer))


@pytest.mark.parametrize("f", [123, None, 4.5, ["x"], object()], ids=lambda f: type(f).__name__)
def test_neither_a_path_nor_a_file_is_a_type_error(f):
    with pytest.raises(TypeError, match=r"load: f must be a path \(str or os.PathLike\) or a binary file object"):
        gradcnn.load(f)
    with pytest.raises(TypeError, match=r"save: f must be a path \(str or os.PathLike\) or a binary file object"):
        gradcnn.save({}, f)


def test_text_files_are_refused(tmp_path):
    with open(tmp_path / "t.txt", "w") as f:
        with pytest.raises(TypeError, match=r"save: f is a text file .*t.txt.*open it in binary mode \('wb'\)"):
            gradcnn.save({"w": np.ones(2)}, f)
    save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    with open(tmp_path / "m.safetensors", encoding="latin-1") as f:
        with pytest.raises(TypeError, match=r"open it in binary mode \('rb'\)"):
            gradcnn.load(f)


def test_weights_only_false_is_refused_with_the_reason(tmp_path):
    save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="load: weights_only=False is refused: gradcnn never unpickles: a "
                                         "pickle can run any code while it loads"):
        gradcnn.load(tmp_path / "m.safetensors", weights_only=False)
    with pytest.raises(ValueError, match="load: pickle_module=<module 'pickle'.* is refused: gradcnn never unpickles"):
        gradcnn.load(tmp_path / "m.safetensors", pickle_module=pickle)
    with pytest.raises(TypeError, match="weights_only must be a bool"):
        gradcnn.load(tmp_path / "m.safetensors", weights_only="yes")
    for weights_only in (True, None):  # None means True, as in PyTorch
        np.testing.assert_array_equal(gradcnn.load(tmp_path / "m.safetensors", weights_only=weights_only)["w"], 1)
    gradcnn.save({"w": np.ones(2)}, tmp_path / "p.safetensors", pickle, 4)  # accepted, changes nothing
    assert (tmp_path / "p.safetensors").read_bytes() == (tmp_path / "m.safetensors").read_bytes()


def test_signatures_follow_torch():
    torch = pytest.importorskip("torch")
    import inspect

    ours, theirs = inspect.signature(gradcnn.load), inspect.signature(torch.load)
    assert list(ours.parameters)[:3] == list(theirs.parameters)[:3] == ["f", "map_location", "pickle_module"]
    assert {"weights_only", "mmap"} <= set(ours.parameters)
    ours, theirs = inspect.signature(gradcnn.save), inspect.signature(torch.save)
    assert list(ours.parameters)[:4] == list(theirs.parameters)[:4]


# -- map_location -----------------------------------------------------------------------------------


def test_map_location_forms(tmp_path):
    path = tmp_path / "m.safetensors"
    state = {"w": gradcnn.ones(2), "a": np.zeros(3)}
    save(state, path)
    from gradcnn.backends import device

    for where in ("cpu", device("cpu"), {"cpu": "cpu"}, {"cuda:0": "cpu"}):
        back = gradcnn.load(path, map_location=where)
        assert back["w"].device == "cpu" and isinstance(back["a"], np.ndarray)
    seen = []

    def relocate(t, saved):
        seen.append(saved)
        return t * 2

    assert float(gradcnn.load(path, map_location=relocate)["w"]._data[0]) == 2.0
    assert seen == ["cpu"]  # tensors only; arrays are not relocated
    assert gradcnn.load(path, map_location=lambda t, saved: None)["w"].device == "cpu"
    with pytest.raises(TypeError, match="map_location must be None, a device, a dict of devices or a function"):
        gradcnn.load(path, map_location=3)
    with pytest.raises(TypeError, match="map_location returned a ndarray"):
        gradcnn.load(path, map_location=lambda t, saved: t._data)
    with pytest.raises(gradcnn.errors.DeviceError, match="unknown device 'gpu'"):
        gradcnn.load(path, map_location="gpu")


# -- files crafted with a valid checksum ----------------------------------------------------------------


def _craft(path, structure=None, arrays=None, metadata=None, text=None, **doc_extra):
    """A safetensors file whose gradcnn JSON has a correct sha256 but any structure."""
    from safetensors.numpy import save as st_save

    from gradcnn import io as gio

    arrays = {"w": np.ones(2)} if arrays is None else arrays
    if text is None:
        doc = {"format": "gradcnn", "version": 1, "structure": structure,
               "metadata": {} if metadata is None else metadata, **doc_extra}
        text = gio._dumps(doc)
    sha = gio._digest(text, arrays)
    full = text[:-1] + f',"sha256":"{sha}"}}'
    path.write_bytes(st_save(arrays, metadata={"gradcnn": full}))
    return path


CRAFTED = {
    "missing-array": ({"w": {"$array": "nope", "$type": "tensor"}}, "names the array 'nope', which the file "
                                                                     "does not hold"),
    "array-name-int": ({"w": {"$array": 5, "$type": "tensor"}}, "malformed array entry"),
    "array-name-list": ({"w": {"$array": ["w"], "$type": "tensor"}}, "malformed array entry"),
    "unknown-type": ({"w": {"$array": "w", "$type": "pickle"}}, "malformed array entry"),
    "extra-key": ({"w": {"$array": "w", "$type": "tensor", "x": 1}}, "malformed array entry"),
    "scalar-not-0d": ({"w": {"$array": "w", "$type": "scalar"}}, r"is a scalar but its array has shape \(2,\)"),
    "bad-device": ({"w": {"$array": "w", "$type": "tensor", "$device": "gpu7"}}, "'gpu7', which is not a device"),
    "device-int": ({"w": {"$array": "w", "$type": "tensor", "$device": 3}}, "malformed array entry"),
    "tuple-not-list": ({"t": {"$tuple": 3}}, "keys \\['\\$tuple'\\], which save never writes"),
    "items-not-list": ({"$items": 5}, "which save never writes"),
    "items-not-pairs": ({"$items": [[1]]}, "item 0 is not a \\[key, value\\] pair"),
    "items-list-key": ({"$items": [[["a"], 1]]}, "key 0 is a list"),
    "items-dict-key": ({"$items": [[{"a": 1}, 1]]}, "key 0 is a dict"),
    "items-tensor-key": ({"$items": [[{"$array": "w", "$type": "tensor"}, 1]]}, "key 0 is a Tensor"),
    "unknown-marker": ({"$foo": 1}, "which save never writes"),
    "nested-missing": ({"a": [{"b": {"$tuple": [{"$array": "gone", "$type": "ndarray"}]}}]},
                       r"structure\['a'\]\[0\]\['b'\]\[0\] names the array 'gone'"),
}


@pytest.mark.parametrize("structure, message", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_crafted_structure_with_a_valid_checksum_is_refused(tmp_path, structure, message):
    path = _craft(tmp_path / "crafted.safetensors", structure)
    with pytest.raises(CheckpointError, match=message) as info:
        load(path)
    assert not isinstance(info.value, (KeyError, TypeError, RecursionError, IndexError))
    assert "crafted.safetensors" in str(info.value)


@pytest.mark.parametrize("text", [
    '{"format":"gradcnn","version":1,"structure":{},"metadata":[]}',
    '{"format":"gradcnn","version":1,"structure":{},"metadata":null}',
    '{"format":"gradcnn","version":1,"metadata":{}}',
], ids=["metadata-list", "metadata-null", "no-structure"])
def test_crafted_documents_are_refused(tmp_path, text):
    path = _craft(tmp_path / "c.safetensors", text=text)
    for read in (load, load_metadata):
        with pytest.raises(CheckpointError, match="c.safetensors.*lacks its structure or its metadata dict"):
            read(path)


@pytest.mark.parametrize("depth", [5000, 500])
def test_deep_nesting_in_metadata_is_refused_without_recursion_error(tmp_path, depth):
    # 5000 levels: more than Python's JSON parser can take; 500: parses, but save never writes it
    deep = "[" * depth + "]" * depth
    text = '{"format":"gradcnn","version":1,"structure":{},"metadata":{"deep":' + deep + "}}"
    path = _craft(tmp_path / "deep.safetensors", text=text)
    for read in (load, load_metadata):
        with pytest.raises(CheckpointError, match="deep.safetensors.*(nests deeper|deeper than 200)") as info:
            read(path)
        assert not isinstance(info.value, RecursionError)


def test_save_refuses_nesting_it_could_not_load(tmp_path):
    deep = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(TypeError, match="deeper than 200 levels"):
        save({"x": deep}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="deeper than 200 levels"):
        save({}, tmp_path / "x.safetensors", metadata={"deep": deep})
    ok = []
    for _ in range(150):
        ok = [ok]
    save({"x": ok}, tmp_path / "ok.safetensors")
    assert _depth(load(tmp_path / "ok.safetensors")["x"]) == 151
    assert not (tmp_path / "x.safetensors").exists()


def _depth(x):
    n = 0
    while isinstance(x, list):
        x, n = (x[0] if x else None), n + 1
    return n


class _CountingReader:
    """A binary file object that records how many bytes each read asked for."""

    def __init__(self, data):
        import io

        self._f = io.BytesIO(data)
        self.reads = []

    def read(self, n=-1):
        self.reads.append(n)
        return self._f.read(n)

    def __getattr__(self, name):
        return getattr(self._f, name)


def test_the_header_length_is_checked_against_the_size_before_the_header_is_read(tmp_path):
    _, good = _saved(tmp_path)
    for claimed in (len(good) - 7, 2**40, 2**64 - 1):
        bad = claimed.to_bytes(8, "little") + good[8:]
        reader = _CountingReader(bad)
        with pytest.raises(CheckpointError, match=rf"header length {claimed} bytes, but the file has "
                                                  rf"{len(good) - 8} bytes after the 8-byte length field"):
            load(reader)
        assert reader.reads[0] == 8 and all(n in (8, 16) for n in reader.reads), reader.reads
        (tmp_path / "bad.safetensors").write_bytes(bad)
        with pytest.raises(CheckpointError, match=rf"bad.safetensors' is truncated or not a gradcnn checkpoint "
                                                  rf"\(header length {claimed} bytes"):
            load(tmp_path / "bad.safetensors")


def test_a_cuda_tensor_records_its_device_for_map_location(tmp_path):
    # a file as a CUDA tensor would be saved: its values are host copies, its device recorded
    path = _craft(tmp_path / "g.safetensors", {"w": {"$array": "w", "$type": "tensor", "$device": "cuda:1"}})
    assert gradcnn.load(path)["w"].device == "cpu"  # by default on the CPU
    assert gradcnn.load(path, map_location={"cuda:1": "cpu"})["w"].device == "cpu"
    seen = []
    gradcnn.load(path, map_location=lambda t, saved: seen.append(saved))
    assert seen == ["cuda:1"]
