"""The training loop and `gradcnn train` / `gradcnn eval` end to end."""

import json

import numpy as np
import pytest

from gradcnn import cli


def _run(*argv):
    assert cli.main(list(argv)) == 0


def _weights(path):
    from safetensors.numpy import load_file

    return load_file(str(path))


def test_train_on_synthetic_writes_metrics_weights_and_curves(tmp_path, capsys):
    out = tmp_path / "run"
    _run("train", "lenet5", "--dataset", "synthetic", "--epochs", "2", "--out", str(out), "--no-progress")
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2 and 0 <= metrics["test_accuracy"] <= 1
    assert (out / "model.safetensors").stat().st_size > 0
    pytest.importorskip("matplotlib")
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resumed_run_is_bitwise_identical(tmp_path):
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    # A constant rate: the stand-in for an interrupted run is a run asked for fewer epochs, and a
    # cosine schedule depends on the number of epochs asked for.
    common = ("--dataset", "synthetic", "--seed", "3", "--no-progress", "--schedule", "constant")
    _run("train", "lenet5", *common, "--epochs", "2", "--out", str(straight))
    _run("train", "lenet5", *common, "--epochs", "1", "--out", str(interrupted))
    _run("train", "lenet5", *common, "--epochs", "2", "--out", str(interrupted), "--resume")
    a, b = _weights(straight / "model.safetensors"), _weights(interrupted / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_train_and_eval_on_digits(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "digits"
    # a short run (the defaults, 15 epochs of SGD, reach ~98%; see the benchmark notes)
    _run("train", "--epochs", "3", "--optimizer", "adam", "--lr", "0.002", "--out", str(out), "--no-progress")
    accuracy = json.loads((out / "metrics.json").read_text())["test_accuracy"]
    assert accuracy > 0.8
    capsys.readouterr()
    _run("eval", "lenet5", "--weights", str(out / "model.safetensors"), "--dataset", "digits")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"] == pytest.approx(accuracy)


def test_fit_moves_batches_to_the_device_asked_for_and_names_a_bad_one():
    import gradcnn
    import gradcnn.functional as F
    from gradcnn import nn, optim
    from gradcnn.data import DataLoader, TensorDataset
    from gradcnn.errors import DeviceError
    from gradcnn.train import evaluate, fit

    gradcnn.manual_seed(0)
    data = TensorDataset(gradcnn.randn(8, 3), gradcnn.randint(0, 2, (8,)))
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(data, batch_size=4)
    history = fit(model, loader, optimizer=opt, loss=F.cross_entropy, epochs=1, progress=False,
                  log=lambda *_: None, device="cpu")
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"])
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        fit(model, loader, optimizer=opt, loss=F.cross_entropy, epochs=1, progress=False, device="tpu")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        evaluate(model, loader, F.cross_entropy, device="tpu")


def test_the_progress_bar_does_not_change_the_training():
    # tqdm.auto's class calls iter() on what it wraps when made: handed the loader itself, a
    # shuffling loader drew one epoch order too many, and training with the bar diverged.
    pytest.importorskip("tqdm")
    import gradcnn
    import gradcnn.functional as F
    from gradcnn import optim
    from gradcnn.data import DataLoader
    from gradcnn.train import fit

    runs = []
    for progress in (True, False):
        gradcnn.manual_seed(0)
        data = gradcnn.create_dataset("synthetic", split="train")
        model = gradcnn.create_model("lenet5", num_classes=len(data.classes), in_channels=data.input_shape[0])
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        fit(model, DataLoader(data, batch_size=32, shuffle=True), optimizer=opt, loss=F.cross_entropy, epochs=2,
            progress=progress, log=lambda *_: None)
        runs.append([p.detach().numpy().copy() for p in model.parameters()])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("args, message", [
    (["--epochs", "-1"], "argument --epochs: expected a positive int, got -1"),
    (["--epochs", "two"], "argument --epochs: expected a positive int, got 'two'"),
    (["--batch-size", "0"], "argument --batch-size: expected a positive int, got 0"),
    (["--lr", "nan"], "argument --lr: expected a finite positive number, got nan"),
    (["--lr", "0"], "argument --lr: expected a finite positive number, got 0"),
    (["--seed", "-3"], "argument --seed: expected a non-negative int, got -3"),
    (["--nproc", "0"], "argument --nproc: expected a positive int, got 0"),
])
def test_train_refuses_bad_numbers_with_one_line_and_status_2(args, message, capsys):
    assert cli.main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_train_refuses_an_out_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "metrics.txt"
    target.write_text("not a directory")
    assert cli.main(["train", "--epochs", "1", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a directory" in err and "Traceback" not in err


@pytest.mark.parametrize("seed, threads", [(0, "1"), (3, "2")])
def test_the_default_recipe_reaches_98_percent_on_digits(tmp_path, seed, threads, monkeypatch, capsys):
    # The command a new user runs first: two seeds, on one and on two threads.
    pytest.importorskip("sklearn")
    from gradcnn.backends.cpu import num_threads, set_num_threads

    before = num_threads()
    set_num_threads(int(threads))
    try:
        assert cli.main(["train", "--seed", str(seed), "--no-progress", "--out", str(tmp_path)]) == 0
    finally:
        set_num_threads(before)
    capsys.readouterr()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.98, metrics["test_accuracy"]
