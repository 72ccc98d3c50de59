"""Tests of gradcnn/nn/loss.py: every loss module against torch.nn's (signature, defaults, values and
gradients in float64), buffers, the legacy size_average / reduce arguments."""

import inspect
import warnings

import numpy as np
import pytest

import gradcnn
from gradcnn import nn

NAMES = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
         "BCEWithLogitsLoss", "KLDivLoss"]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_defaults_are_torchs(torch, name):
    ours, theirs = inspect.signature(getattr(nn, name)), inspect.signature(getattr(torch.nn, name))
    assert list(ours.parameters) == list(theirs.parameters)
    for pname, param in theirs.parameters.items():
        assert ours.parameters[pname].default == param.default, pname
    assert repr(getattr(nn, name)()) == f"{name}()"


def _inputs(name, rng):
    """(input, target, constructor kwargs with arrays) for a loss module."""
    x = rng.normal(size=(4, 3, 2))
    if name == "CrossEntropyLoss":
        return x, rng.integers(0, 3, size=(4, 2)), dict(weight=np.array([0.5, 1.0, 2.0]), ignore_index=1,
                                                        label_smoothing=0.2, reduction="sum")
    if name == "NLLLoss":
        return x, rng.integers(0, 3, size=(4, 2)), dict(weight=np.array([0.5, 1.0, 2.0]), reduction="none")
    if name == "BCELoss":
        return 1 / (1 + np.exp(-x)), rng.uniform(size=x.shape), dict(weight=rng.uniform(size=(2,)))
    if name == "BCEWithLogitsLoss":
        return x, rng.uniform(size=x.shape), dict(weight=rng.uniform(size=(2,)), pos_weight=np.array([2.0, 0.5]))
    if name == "KLDivLoss":
        return x, rng.normal(size=x.shape), dict(reduction="batchmean", log_target=True)
    extra = {"SmoothL1Loss": dict(beta=0.7), "HuberLoss": dict(delta=0.4)}.get(name, {})
    return x, rng.normal(size=x.shape), dict(reduction="mean", **extra)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("configured", [False, True])
def test_modules_agree_with_torch(torch, name, configured):
    x, target, kwargs = _inputs(name, np.random.default_rng(NAMES.index(name)))
    if not configured:
        kwargs = {}
    ours = getattr(nn, name)(**{k: gradcnn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                        for k, v in kwargs.items()})
    gx, tx = gradcnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # KLDivLoss's 'mean'
        out, tout = ours(gx, gradcnn.tensor(target)), theirs(tx, torch.tensor(target))
    out.backward(gradcnn.ones_like(out))
    tout.backward(torch.ones(tout.shape, dtype=tout.dtype))
    np.testing.assert_allclose(out._data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.grad._data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_weights_are_buffers_like_torchs(torch):
    for name, kwargs in [("CrossEntropyLoss", {"weight": np.ones(3)}), ("NLLLoss", {"weight": np.ones(3)}),
                         ("BCELoss", {"weight": np.ones(2)}),
                         ("BCEWithLogitsLoss", {"weight": np.ones(2), "pos_weight": np.ones(2)})]:
        ours = getattr(nn, name)(**{k: gradcnn.tensor(v) for k, v in kwargs.items()})
        theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) for k, v in kwargs.items()})
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert list(dict(ours.named_parameters())) == []
        ours = ours.to(gradcnn.float32)
        assert all(b.dtype == np.float32 for b in ours.buffers())
    assert list(nn.CrossEntropyLoss().state_dict()) == list(torch.nn.CrossEntropyLoss().state_dict()) == []


@pytest.mark.parametrize("size_average, reduce, reduction", [
    (False, None, "sum"), (None, False, "none"), (True, True, "mean"), (False, False, "none"),
])
def test_legacy_arguments_become_a_reduction_with_torchs_warning(torch, size_average, reduce, reduction):
    for name in ("CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss", "KLDivLoss"):
        with pytest.warns(UserWarning, match=f"{name}: size_average and reduce are deprecated; use "
                                             f"reduction='{reduction}' instead") as record:
            loss = getattr(nn, name)(size_average=size_average, reduce=reduce)
        assert record[0].filename == __file__  # points at the line that built the loss
        assert loss.reduction == reduction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            assert getattr(torch.nn, name)(size_average=size_average, reduce=reduce).reduction == reduction


def test_a_module_rejects_what_its_function_rejects():
    with pytest.raises(gradcnn.errors.ShapeError, match=r"cross_entropy: reduction must be one of .*got 'avg'"):
        nn.CrossEntropyLoss(reduction="avg")(gradcnn.zeros(2, 3), gradcnn.tensor([0, 1]))
    with pytest.raises(gradcnn.errors.ShapeError, match=r"label_smoothing must lie in \[0, 1\], got 1.5"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(gradcnn.zeros(2, 3), gradcnn.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"huber_loss: delta must be > 0"):
        nn.HuberLoss(delta=0.0)(gradcnn.zeros(2), gradcnn.zeros(2))


def test_training_with_a_loss_module_matches_torch(torch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5)), rng.integers(0, 3, size=16)
    w, b = rng.normal(size=(3, 5)) * 0.1, np.zeros(3)
    ours = nn.Linear(5, 3).double()
    theirs = torch.nn.Linear(5, 3).double()
    with gradcnn.no_grad(), torch.no_grad():
        ours.weight._data[...] = w
        ours.bias._data[...] = b
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    loss, tloss = nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    opt = gradcnn.optim.NAdam(ours.parameters(), lr=0.05)
    topt = torch.optim.NAdam(theirs.parameters(), lr=0.05, foreach=False)
    for _ in range(10):
        opt.zero_grad()
        topt.zero_grad()
        loss(ours(gradcnn.tensor(x)), gradcnn.tensor(y)).backward()
        tloss(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours.weight._data, theirs.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
