"""`gradcnn run` without starting anything: the launcher's command line and environment for each
MPI flavour, the failure summary, the worker's view of the environment, and usage errors."""

import json
import socket
import subprocess
import sys
import time

import pytest

from gradcnn import cli
from gradcnn.distributed import run, worker

LAUNCHER = sys.executable  # any executable file stands in for mpiexec when the flavour is given


def test_hydra_needs_no_options_and_gets_the_timeout_from_the_environment():
    cmd, env = run.launcher_command(4, "train.py", ["--lr", "1"], mpiexec=LAUNCHER, flavour="hydra", ncores=2,
                                    timeout=30, env={})
    assert cmd == [LAUNCHER, "-n", "4", sys.executable, "-m", "gradcnn.distributed.worker", "train.py", "--lr", "1"]
    assert env["MPIEXEC_TIMEOUT"] == "30"
    assert env["GRADCNN_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"


def test_open_mpi_gets_root_oversubscription_binding_and_exports(monkeypatch):
    monkeypatch.setattr(run.os, "geteuid", lambda: 0)
    cmd, env = run.launcher_command(3, "gradcnn", ["train"], module=True, mpiexec=LAUNCHER, flavour="openmpi",
                                    ncores=2, timeout=12.4, env={"PYTHONPATH": "x"})
    assert cmd[:cmd.index("-n")] == [LAUNCHER, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                                     "--timeout", "12", "-x", "GRADCNN_NUM_THREADS", "-x", "OMP_NUM_THREADS",
                                     "-x", "OPENBLAS_NUM_THREADS", "-x", "PYTHONPATH"]
    assert cmd[cmd.index("-n"):] == ["-n", "3", sys.executable, "-m", "gradcnn.distributed.worker", "-m", "gradcnn",
                                     "train"]
    monkeypatch.setattr(run.os, "geteuid", lambda: 1000)
    cmd, _ = run.launcher_command(2, "a.py", [], mpiexec=LAUNCHER, flavour="openmpi", ncores=8, env={})
    assert "--allow-run-as-root" not in cmd and "--oversubscribe" not in cmd


def test_threads_are_the_cores_shared_out_unless_already_chosen():
    _, env = run.launcher_command(2, "a.py", [], mpiexec=LAUNCHER, flavour="hydra", ncores=16, env={})
    assert env["GRADCNN_NUM_THREADS"] == "8"
    _, env = run.launcher_command(2, "a.py", [], mpiexec=LAUNCHER, flavour="hydra", ncores=16,
                                  env={"GRADCNN_NUM_THREADS": "3"})
    assert env["GRADCNN_NUM_THREADS"] == "3" and env["OMP_NUM_THREADS"] == "8"


def test_no_launcher_is_an_error_that_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(run.shutil, "which", lambda name: None)
    monkeypatch.setattr(run.sys, "executable", str(tmp_path / "python"))
    monkeypatch.delenv("GRADCNN_MPIEXEC", raising=False)
    with pytest.raises(FileNotFoundError, match=r"no mpiexec found: install gradcnn\[mpi\]"):
        run.launcher_command(2, "a.py", [])


def _status(tmp_path, rank, **status):
    (tmp_path / f"rank{rank}.json").write_text(json.dumps(status))


def test_the_summary_names_the_failed_rank(tmp_path):
    _status(tmp_path, 0, pid=10, state="running")
    _status(tmp_path, 1, pid=11, state="failed", reason="raised ValueError: x", traceback="Traceback ...\n")
    assert run._summary(2, tmp_path, b"raised ValueError: x", 1) == ("", "rank 1 raised ValueError: x")
    # a traceback that the abort cut from the output is shown again
    assert run._summary(2, tmp_path, b"", 1) == ("Traceback ...", "rank 1 raised ValueError: x")


def test_the_summary_names_the_rank_whose_line_closed_first(tmp_path):
    _status(tmp_path, 0, pid=10, state="running")
    _status(tmp_path, 1, pid=11, state="running")
    _status(tmp_path, 2, pid=12, state="running")
    assert run._summary(3, tmp_path, b"", 9, {1: 0, 0: 1, 2: 2})[1] == (
        "rank 1 (pid 11) died without a word (killed by a signal, or os._exit); then ranks 0, 2 stopped")
    _status(tmp_path, 1, pid=11, state="finished")
    _status(tmp_path, 2, pid=12, state="finished")
    assert run._summary(3, tmp_path, b"", 124) == ("", "rank 0 did not finish (launcher exit status 124)")
    assert run._summary(3, tmp_path, b"", 255, {0: 0}, timeout=2.5)[1] == (
        "it ran past --timeout 2.5 s and was stopped; rank 0 had not finished")


def test_the_launcher_sees_the_order_in_which_ranks_exit(tmp_path):
    watch = run._Watch(str(tmp_path))
    children = [subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
                for _ in range(3)]
    lines = []
    for rank, child in enumerate(children):
        line = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        line.connect(str(tmp_path / worker.WATCH_SOCKET))
        line.sendall(f"{rank} {child.pid}\n".encode())
        lines.append(line)
    time.sleep(0.2)  # the launcher has read every rank's pid
    for rank in (2, 0, 1):
        children[rank].kill()
        children[rank].wait()
        lines[rank].close()
        deadline = time.monotonic() + 5
        while rank not in watch.closed and time.monotonic() < deadline:
            time.sleep(0.01)
    watch.close()
    assert watch.closed == {2: 0, 0: 1, 1: 2}


def test_the_worker_reads_either_launchers_variables(monkeypatch):
    for name in ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "OMPI_COMM_WORLD_RANK",
                 "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert worker.rank_from_environment() == (None, None, None, None)
    monkeypatch.setenv("PMI_RANK", "3")
    monkeypatch.setenv("PMI_SIZE", "4")
    monkeypatch.setenv("MPI_LOCALRANKID", "1")
    monkeypatch.setenv("MPI_LOCALNRANKS", "2")
    assert worker.rank_from_environment() == (3, 4, 1, 2)
    for name in ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    assert worker.rank_from_environment()[:2] == (0, 2)


def test_usage_errors_exit_2_with_one_line(tmp_path, capsys):
    assert cli.main(["run", "--nproc", "2", str(tmp_path / "missing.py")]) == 2
    assert "no script" in capsys.readouterr().err
    (tmp_path / "a.py").write_text("")
    assert cli.main(["run", "--nproc", "0", str(tmp_path / "a.py")]) == 2
    assert "--nproc must be at least 1, got 0" in capsys.readouterr().err
    assert cli.main(["run"]) == 2  # argparse: the script is required


def test_everything_after_the_script_belongs_to_the_script():
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--nproc", "2", "s.py", "--lr", "3", "--nproc", "5"])
    assert (args.nproc, args.module, args.target, args.args) == (2, False, "s.py", ["--lr", "3", "--nproc", "5"])
    args = parser.parse_args(["run", "--nproc-per-node", "3", "-m", "gradcnn", "train", "--epochs", "1"])
    assert (args.nproc, args.module, args.target, args.args) == (3, True, "gradcnn", ["train", "--epochs", "1"])


def test_a_rank_that_started_but_never_finished_fails_the_job(tmp_path):
    _status(tmp_path, 0, pid=10, state="finished")
    _status(tmp_path, 1, pid=11, state="running")
    assert run._unfinished(3, tmp_path) == [1]  # rank 2 never wrote: nothing is known of it
