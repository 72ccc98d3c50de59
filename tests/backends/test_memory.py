"""The allocator setting of the CPU backend: freed arrays are reused, not page-faulted in again."""

import os
import subprocess
import sys
import textwrap

import pytest


def _is_glibc():
    try:
        return sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # the name is unknown outside glibc
        return False


glibc = pytest.mark.skipif(not _is_glibc(), reason="the allocator setting is for glibc only")

# As a training step does, allocates arrays of 0.5 to 5 MB (20 MB together) and frees them, 20
# times over, after the CPU backend first computed; prints the minor page faults of the last 19
# rounds and whether the setting was made.
PROBE = textwrap.dedent("""
    import resource
    import numpy as np
    import gradcnn
    from gradcnn.backends.cpu.memory import tune_allocator
    gradcnn.nn.functional.relu(gradcnn.ones(4))  # the CPU backend's first computation
    gradcnn.backends.cpu.warmup()
    for round in range(20):
        if round == 1:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        arrays = [np.ones(n << 13) for n in (8, 80, 16, 40, 24, 64, 32, 48, 8, 24)]
        del arrays
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, tune_allocator())
""")


def _probe(**env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GRADCNN_MALLOC"))}
    out = subprocess.run([sys.executable, "-c", PROBE], env=dict(environ, **env), capture_output=True, text=True,
                         check=True)
    faults, tuned = out.stdout.split()
    return int(faults), tuned == "True"


@glibc
def test_freed_arrays_are_reused_without_page_faults():
    faults, tuned = _probe()
    assert tuned
    assert faults < 500, f"{faults} page faults in 19 rounds"


@glibc
def test_the_setting_can_be_turned_off_and_yields_to_glibcs_own_variables():
    faults, tuned = _probe(GRADCNN_MALLOC_TUNING="0")
    assert not tuned and faults > 19 * 2000, "without the setting, each round faults its pages in again"
    assert not _probe(MALLOC_TRIM_THRESHOLD_="1000000")[1]
