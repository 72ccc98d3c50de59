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
        a, b = a.data, b.data
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
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
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
        np.testing.assert_array_equal(plain[k], v.data)


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
