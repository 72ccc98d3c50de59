"""The 'nccl' backend on real GPUs, one rank per device (NCCL refuses two ranks on one GPU).
gpu-marked: skipped where CuPy sees no device. Argument and device checks that need no GPU are in
test_process_group.py."""

import json
import pathlib

import pytest

import gradcnn
import gradcnn.distributed as dist

SCRIPTS = pathlib.Path(__file__).parent / "scripts"


@pytest.mark.gpu
def test_nccl_collectives_and_data_parallel_steps_on_every_gpu(ranks, tmp_path):
    if not dist.is_nccl_available():
        pytest.skip("CuPy's NCCL library is not installed (pip install nvidia-nccl-cu13 or -cu12)")
    nproc = gradcnn.cuda.device_count()
    done = ranks(nproc, SCRIPTS / "nccl_ranks.py", tmp_path / "report.json", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["world_size"] == nproc
    assert all(report["checks"].values()), report["checks"]
    assert report["param_max_diff"] <= 1e-9
