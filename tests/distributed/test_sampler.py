"""``DistributedSampler``: PyTorch's splitting and padding rules (checked against
``torch.utils.data.DistributedSampler`` where torch is installed), epochs, and argument errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
from gradcnn.utils.data import DataLoader, DistributedSampler, TensorDataset


def _shares(n, replicas, **kw):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


def _torch_shares(dataset, replicas, **kw):
    torch_data = pytest.importorskip("torch.utils.data")
    return [list(torch_data.DistributedSampler(dataset, num_replicas=replicas, rank=r, **kw))
            for r in range(replicas)]


@given(n=st.integers(0, 40), replicas=st.integers(1, 7), drop_last=st.booleans())
def test_unshuffled_shares_match_pytorch(n, replicas, drop_last):
    ours = _shares(n, replicas, shuffle=False, drop_last=drop_last)
    assert ours == _torch_shares(range(n), replicas, shuffle=False, drop_last=drop_last)
    lengths = {len(DistributedSampler(range(n), num_replicas=replicas, rank=r, drop_last=drop_last))
               for r in range(replicas)}
    assert lengths == {len(s) for s in ours} and len(lengths) == 1


@given(n=st.integers(1, 40), replicas=st.integers(1, 7), drop_last=st.booleans(), seed=st.integers(0, 99),
       epoch=st.integers(0, 5))
def test_shuffled_shares_follow_pytorchs_padding_of_our_permutation(n, replicas, drop_last, seed, epoch):
    # torch's rules applied (shuffle=False) to the order we drew must give our shares exactly
    order = np.random.default_rng(seed + epoch).permutation(n).tolist()
    samplers = [DistributedSampler(range(n), num_replicas=replicas, rank=r, seed=seed, drop_last=drop_last)
                for r in range(replicas)]
    for s in samplers:
        s.set_epoch(epoch)
    expected = [[order[i] for i in share] for share in _torch_shares(range(n), replicas, shuffle=False,
                                                                     drop_last=drop_last)]
    assert [list(s) for s in samplers] == expected


def test_shares_are_disjoint_cover_the_data_and_pad_from_the_head():
    shares = _shares(10, 4, shuffle=False)
    assert shares == [[0, 4, 8], [1, 5, 9], [2, 6, 0], [3, 7, 1]]
    assert _shares(10, 4, shuffle=False, drop_last=True) == [[0, 4], [1, 5], [2, 6], [3, 7]]
    shuffled = _shares(12, 3, seed=5)
    assert sorted(sum(shuffled, [])) == list(range(12))
    assert _shares(3, 5, shuffle=False) == [[0], [1], [2], [0], [1]]  # fewer samples than ranks


def test_epochs_reorder_and_every_rank_draws_the_same_order():
    a = DistributedSampler(range(50), num_replicas=2, rank=0, seed=1)
    b = DistributedSampler(range(50), num_replicas=2, rank=1, seed=1)
    first = list(a)
    assert list(a) == first  # without set_epoch every epoch repeats
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != first
    assert sorted(list(a) + list(b)) == list(range(50))


def test_defaults_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    s = DistributedSampler(range(7), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (3, 2, [2, 5, 1])
    monkeypatch.delenv("RANK")
    with pytest.raises(ShapeError, match="rank is None and RANK is not set: Default process group has not "
                                         "been initialized.*gradcnn run --nproc N.*pass num_replicas and rank"):
        DistributedSampler(range(7))


def test_argument_errors_name_the_argument():
    with pytest.raises(IndexOutOfRangeError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(ShapeError, match="num_replicas must be at least 1, got 0"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(DTypeError, match="num_replicas must be an int, got 2.0"):
        DistributedSampler(range(4), num_replicas=2.0, rank=0)
    with pytest.raises(DTypeError, match="epoch must be an int"):
        DistributedSampler(range(4), num_replicas=2, rank=0).set_epoch("1")


def test_a_dataloader_reads_this_ranks_share():
    data = TensorDataset(gradcnn.arange(10))
    loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, num_replicas=2, rank=1, shuffle=False))
    assert [batch[0].tolist() for batch in loader] == [[1, 3], [5, 7], [9]]
    assert len(loader) == 3
