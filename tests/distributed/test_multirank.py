"""Several ranks for real: jobs started with `gradcnn run --nproc N` (and with mpiexec itself) as
subprocesses with a time limit. Needs the ``mpi`` extra (see conftest)."""

import json
import os
import pathlib
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).parent / "scripts"

EQUIVALENCE = 1e-9  # float64, several SGD-with-momentum steps


@pytest.mark.parametrize("nproc", [2, 3])  # 3 ranks on CI's 2 cores: more ranks than cores
def test_data_parallel_training_equals_one_process_on_the_combined_batch(ranks, tmp_path, nproc):
    done = ranks(nproc, SCRIPTS / "ddp_equivalence.py", tmp_path / "report.json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["world_size"] == nproc and report["env"] == ["0", str(nproc)]
    # DDP + SyncBatchNorm, each rank starting from different weights, against BatchNorm on one process
    assert report["param_max_diff"] <= EQUIVALENCE
    assert report["buffer_max_diff"] <= EQUIVALENCE
    assert report["input_grad_max_diff"] <= EQUIVALENCE
    assert report["replicas_max_diff"] == 0.0
    assert report["no_sync_max_diff"] <= EQUIVALENCE
    # communication started before backward had made its last gradient
    assert report["buckets"] >= 3 and report["launched_before_last_grad"] >= 1
    assert report["unused_grad_is_none"] and report["used_grad"] == [4.0, 4.0]
    assert "these parameters got no gradient: spare.weight, spare.bias" in report["unused_error"]
    assert report["mismatch_error"].endswith("parameter '0.weight' has shape (3, 4) on rank 1 but (2, 4) on rank 0")
    assert report["checks"] and all(report["checks"].values()), report["checks"]
    assert report["all_gather_json"] == [{"rank": r} for r in range(nproc)]


@pytest.mark.parametrize("mode, named", [
    ("raise", "rank 1 raised ValueError: rank one broke on purpose"),
    ("exit", "rank 1 exited with status 3"),
    ("early", "rank 1 raised RuntimeError: failed before joining the group"),
    ("kill", "rank 1 (pid "),
])
def test_a_failing_rank_stops_the_job_and_is_named(ranks, mode, named):
    # A killed rank says nothing: the launcher names the rank whose process exited first. On a
    # machine so busy that the killed rank's threads are still being torn down when MPI has
    # stopped the others, that order can come out wrong, so that case gets more tries.
    for _attempt in range(3 if mode == "kill" else 1):
        done = ranks(2, SCRIPTS / "failing_rank.py", mode, timeout=60)
        assert done.returncode != 0
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("gradcnn run: the job failed: "), done.stderr
        assert "rank 0 of 2" not in done.stdout  # rank 0 never finished its all_reduce
        if named in last:
            break
    assert named in last, done.stderr


def test_a_rank_that_stops_answering_times_out_the_others(ranks):
    done = ranks(2, SCRIPTS / "failing_rank.py", "silent", "1.5", timeout=60)
    assert done.returncode != 0
    assert "rank 0 raised DistBackendError: all_reduce: rank 0 of 2 waited 1.5 s" in done.stderr, done.stderr


def test_the_launchers_timeout_stops_the_whole_job(ranks):
    done = ranks(2, "--timeout", "2", SCRIPTS / "failing_rank.py", "silent", timeout=60)
    assert done.returncode != 0
    assert ("gradcnn run: the job failed: it ran past --timeout 2 s and was stopped; ranks 0, 1 had not "
            "finished") in done.stderr, done.stderr


def test_the_users_own_mpiexec_works_the_same(ranks):
    mpiexec = [os.path.join(os.path.dirname(sys.executable), "mpiexec"), "-n", "2", sys.executable]
    done = ranks(2, SCRIPTS / "failing_rank.py", "none", launcher=mpiexec)
    assert done.returncode == 0, done.stderr
    for r in (0, 1):  # the ranks print at once: their lines may interleave
        assert f"rank {r} of 2 RANK={r} sum=[3.0, 3.0, 3.0]" in done.stdout
    failed = ranks(2, SCRIPTS / "failing_rank.py", "raise", launcher=mpiexec, timeout=60)
    assert failed.returncode != 0
    assert "gradcnn.distributed: rank 1 of 2 raised ValueError: rank one broke on purpose; stopping every rank" \
        in failed.stderr


def test_fit_checkpoints_from_rank_0_only_and_reports_every_ranks_samples(ranks, tmp_path):
    done = ranks(2, SCRIPTS / "fit_checkpoint.py", tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "saves.log").read_text().split() == ["0", "0"]  # two epochs, one writer
    lines = done.stdout.splitlines()
    assert sum(line.startswith("rank 0: {") for line in lines) == 2
    assert not any(line.startswith("rank 1: ") for line in lines)
    evaluated = {tuple(line.split()[3:5]) for line in lines if "evaluated" in line}
    assert len(evaluated) == 1  # the same summed metrics on both ranks
    from gradcnn.io import load

    assert load(str(tmp_path / "checkpoint.safetensors"))["epoch"] == 2


def test_gradcnn_train_nproc_then_resume_with_another_count(ranks, tmp_path):
    train = [sys.executable, "-m", "gradcnn", "train", "lenet5", "--dataset", "synthetic", "--no-progress",
             "--batch-size", "64", "--out", str(tmp_path / "run")]
    first = ranks(2, "--epochs", "1", "--nproc", "2", launcher=train)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count('{"epoch": 1') == 1 and "on 2 ranks" in first.stdout  # rank 0 speaks alone
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_batch_size"] == 128
    resumed = ranks(1, "--epochs", "2", "--resume", launcher=train)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout and "at epoch 1" in resumed.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["world_size"] == 1 and [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    for name in ("model.safetensors", "checkpoint.safetensors"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]
