"""The fuzz tables hold what they claim: enough distinct cases, across every part of the API, and
a word when PyTorch is not there to compare with."""

import pytest
import test_fuzz_autograd
import test_fuzz_functional
import test_fuzz_io_cli
import test_fuzz_layers
import test_fuzz_optim
from fuzz_harness import HAVE_TORCH
from fuzz_known import KNOWN

TABLES = {"functional": test_fuzz_functional, "layers": test_fuzz_layers, "autograd": test_fuzz_autograd,
          "optim": test_fuzz_optim, "io and cli": test_fuzz_io_cli}


def test_the_tables_hold_at_least_1500_distinct_cases_in_every_area():
    ids = [case.id for table in TABLES.values() for case in table.CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 1500
    assert all(len(table.CASES) >= 100 for table in TABLES.values())


def test_every_known_failure_is_a_case_of_a_table():
    ids = {case.id for table in TABLES.values() for case in table.CASES}
    assert not set(KNOWN) - ids, sorted(set(KNOWN) - ids)[:10]


def test_comparison_with_pytorch():
    if not HAVE_TORCH:
        pytest.skip("torch is not importable: the fuzz cases ran on gradcnn alone (typed errors, no crash, no "
                    "hang, the checks a case states) and skipped their comparison with PyTorch")
