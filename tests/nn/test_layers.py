"""Every built-in layer goes through gradcnn.testing.check_layer, the same call plugin authors use."""

import numpy as np
import pytest
from hypothesis import strategies as st

import gradcnn
import gradcnn.nn as nn
from gradcnn.testing import arrays, check_layer


def image(channels=2, size=5):
    return lambda cfg: (2, cfg.get("in_channels", channels), size, size)


def test_linear():
    check_layer(nn.Linear, lambda cfg: (3, cfg["in_features"]),
                config=st.fixed_dictionaries({"in_features": st.integers(1, 4), "out_features": st.integers(1, 3),
                                              "bias": st.booleans()}),
                output_shape=lambda shape, cfg: (3, cfg["out_features"]))


def test_conv1d():
    check_layer(nn.Conv1d, lambda cfg: (2, cfg["in_channels"], 6),
                config=st.fixed_dictionaries({"in_channels": st.sampled_from([2, 4]), "out_channels": st.just(2),
                                              "kernel_size": st.integers(1, 3), "stride": st.integers(1, 2),
                                              "padding": st.sampled_from([0, 1, "same"]),
                                              "groups": st.sampled_from([1, 2])}))


def test_conv2d():
    check_layer(nn.Conv2d, image(),
                config=st.fixed_dictionaries({"in_channels": st.just(2), "out_channels": st.sampled_from([2, 4]),
                                              "kernel_size": st.integers(1, 3), "stride": st.integers(1, 2),
                                              "padding": st.sampled_from([0, 1, "same", "full"]),
                                              "dilation": st.integers(1, 2), "groups": st.sampled_from([1, 2]),
                                              "bias": st.booleans()}))


def test_conv_transpose1d():
    check_layer(nn.ConvTranspose1d, (2, 2, 4),
                config=st.fixed_dictionaries({"in_channels": st.just(2), "out_channels": st.just(2),
                                              "kernel_size": st.integers(1, 3), "stride": st.integers(1, 2)}))


def test_conv_transpose2d():
    check_layer(nn.ConvTranspose2d, (1, 2, 3, 3),
                config=st.fixed_dictionaries({"in_channels": st.just(2), "out_channels": st.sampled_from([2, 4]),
                                              "kernel_size": st.integers(1, 3), "stride": st.integers(1, 2),
                                              "padding": st.integers(0, 1), "groups": st.sampled_from([1, 2])}))


def _distinct(shape):
    # tie-free values for max-based layers: a permutation, spaced well beyond the finite-difference step
    return st.permutations(range(int(np.prod(shape)))).map(
        lambda p: (np.array(p, dtype=np.float64).reshape(shape) - len(p) / 2) * 0.1)


def test_max_pools():
    check_layer(nn.MaxPool2d, None, input=_distinct((2, 2, 5, 5)),
                config=st.fixed_dictionaries({"kernel_size": st.integers(1, 3), "stride": st.integers(1, 2)}))
    check_layer(nn.MaxPool1d, None, input=_distinct((2, 2, 7)),
                config=st.fixed_dictionaries({"kernel_size": st.integers(2, 3), "ceil_mode": st.booleans()}))
    check_layer(nn.AdaptiveMaxPool1d, None, input=_distinct((2, 3, 7)), config={"output_size": 1},
                output_shape=(2, 3, 1))
    check_layer(nn.AdaptiveMaxPool2d, None, input=_distinct((1, 2, 5, 4)), config={"output_size": (2, 3)})


def test_avg_pools():
    check_layer(nn.AvgPool2d, (2, 2, 5, 5),
                config=st.fixed_dictionaries({"kernel_size": st.integers(1, 3), "stride": st.integers(1, 2),
                                              "ceil_mode": st.booleans(), "count_include_pad": st.booleans()}))
    check_layer(nn.AvgPool1d, (2, 2, 6), config={"kernel_size": 3, "stride": 2, "padding": 1})
    check_layer(nn.AdaptiveAvgPool2d, (2, 3, 5, 5), config={"output_size": 1}, output_shape=(2, 3, 1, 1))
    check_layer(nn.AdaptiveAvgPool1d, (2, 3, 7), config={"output_size": 3})


def test_shape_layers():
    check_layer(nn.Flatten, (2, 3, 2, 2), output_shape=(2, 12))
    check_layer(nn.Identity, (3, 4), output_shape=(3, 4))


def test_activations():
    check_layer(nn.ReLU, (3, 4), avoid=(0,))
    check_layer(nn.LeakyReLU, (3, 4), avoid=(0,), config={"negative_slope": 0.2})
    check_layer(nn.PReLU, (2, 3, 4), avoid=(0,), config=st.sampled_from([{}, {"num_parameters": 3}]))
    check_layer(nn.RReLU, (3, 4), avoid=(0,))
    check_layer(nn.ELU, (3, 4), avoid=(0,), config={"alpha": 0.7})
    check_layer(nn.Sigmoid, (3, 4))
    check_layer(nn.Tanh, (3, 4))
    check_layer(nn.Softmax, (3, 4), config={"dim": 1})
    check_layer(nn.LogSoftmax, (3, 4), config={"dim": -1})
    check_layer(nn.Maxout, None, input=_distinct((2, 6, 3)), config={"pieces": 3}, output_shape=(2, 2, 3))


def test_dropout():
    check_layer(nn.Dropout, (4, 5), config=st.sampled_from([{"p": 0.0}, {"p": 0.3}, {"p": 0.5}]))


def test_batch_norms():
    check_layer(nn.BatchNorm1d, st.sampled_from([(4, 3), (3, 3, 4)]), config={"num_features": 3}, min_value=-3)
    check_layer(nn.BatchNorm2d, (3, 2, 3, 3),
                config=st.fixed_dictionaries({"num_features": st.just(2), "affine": st.booleans(),
                                              "track_running_stats": st.booleans(),
                                              "momentum": st.sampled_from([0.1, None])}))


def test_local_response_norm():
    check_layer(nn.LocalResponseNorm, (2, 5, 3, 3), config=st.fixed_dictionaries(
        {"size": st.integers(1, 4), "alpha": st.just(0.1), "beta": st.just(0.75), "k": st.just(2.0)}))


def test_embedding():
    check_layer(nn.Embedding, None, input=arrays((2, 5), dtype=np.int64, min_value=0, max_value=6),
                config=st.fixed_dictionaries({"num_embeddings": st.just(7), "embedding_dim": st.integers(1, 3)}),
                output_shape=lambda shape, cfg: shape + (cfg["embedding_dim"],))


def test_embedding_padding_row_starts_at_zero_and_is_never_trained():
    # Finite differences see the padding row in the output, so check_layer cannot cover it.
    emb = nn.Embedding(4, 2, padding_idx=-1)
    assert emb.padding_idx == 3
    np.testing.assert_array_equal(emb.weight.detach().numpy()[3], [0, 0])
    emb(gradcnn.tensor([3, 1, 3])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[0, 0], [1, 1], [0, 0], [0, 0]])


def _spread(shape):
    # distinct values 0.05 apart: no normalized group is (nearly) constant, where finite
    # differences lose their accuracy
    n = int(np.prod(shape))
    return st.permutations(range(n)).map(lambda p: (np.array(p, dtype=np.float64).reshape(shape) - n / 2) * 0.05)


def test_channel_dropouts():
    check_layer(nn.Dropout1d, st.sampled_from([(2, 3, 4), (3, 4)]), config=st.sampled_from([{"p": 0.0}, {"p": 0.4}]))
    check_layer(nn.Dropout2d, (2, 3, 2, 2), config=st.sampled_from([{"p": 0.0}, {"p": 0.4}, {"p": 1.0}]))


def test_layer_norm():
    check_layer(nn.LayerNorm, None, input=_spread((2, 3, 4)),
                config=st.fixed_dictionaries({"normalized_shape": st.sampled_from([4, (4,), [3, 4]]),
                                              "elementwise_affine": st.booleans(), "bias": st.booleans()}))


def test_group_norm():
    check_layer(nn.GroupNorm, None, input=_spread((2, 4, 3)),
                config=st.fixed_dictionaries({"num_groups": st.sampled_from([1, 2, 4]), "num_channels": st.just(4),
                                              "affine": st.booleans(), "bias": st.booleans()}))


def test_upsampling_layers():
    check_layer(nn.Upsample, (2, 2, 3, 3), config=st.sampled_from([
        {"scale_factor": 2}, {"size": (4, 5), "mode": "bilinear"}, {"size": 5, "mode": "bilinear", "align_corners": True},
        {"scale_factor": 1.5, "mode": "nearest-exact"}, {"size": 2, "mode": "area"}]))
    check_layer(nn.Upsample, (2, 2, 4), config={"scale_factor": 2.5, "mode": "linear"}, output_shape=(2, 2, 10))
    check_layer(nn.UpsamplingNearest2d, (1, 2, 3, 3), config={"scale_factor": 2}, output_shape=(1, 2, 6, 6))
    check_layer(nn.UpsamplingBilinear2d, (1, 2, 3, 3), config={"size": (4, 5)}, output_shape=(1, 2, 4, 5))


def test_more_shape_layers():
    check_layer(nn.Unflatten, (2, 12), config={"dim": 1, "unflattened_size": (3, -1)}, output_shape=(2, 3, 4))
    check_layer(nn.Softmax2d, st.sampled_from([(2, 3, 2, 2), (3, 2, 2)]))
    check_layer(lambda: nn.DataParallel(nn.Linear(3, 2)), (4, 3), output_shape=(4, 2))


def test_lazy_layers():
    # each factory builds a lazy layer: the first call sizes it, and the state_dict round trip
    # loads into a fresh lazy layer, which sizes its placeholders from the checkpoint
    check_layer(nn.LazyLinear, (3, 4), config=st.fixed_dictionaries({"out_features": st.integers(1, 3),
                                                                     "bias": st.booleans()}))
    check_layer(nn.LazyConv1d, (2, 2, 5), config={"out_channels": 4, "kernel_size": 3, "groups": 2})
    check_layer(nn.LazyConv2d, image(), config=st.fixed_dictionaries(
        {"out_channels": st.just(3), "kernel_size": st.integers(1, 3), "padding": st.sampled_from([0, "same"]),
         "bias": st.booleans()}))
    check_layer(nn.LazyConvTranspose1d, (2, 2, 4), config={"out_channels": 2, "kernel_size": 3, "stride": 2})
    check_layer(nn.LazyConvTranspose2d, (1, 2, 3, 3), config={"out_channels": 4, "kernel_size": 2, "groups": 2})
    check_layer(nn.LazyBatchNorm1d, st.sampled_from([(4, 3), (3, 3, 4)]), min_value=-3)
    check_layer(nn.LazyBatchNorm2d, (3, 2, 3, 3), config=st.fixed_dictionaries(
        {"affine": st.booleans(), "track_running_stats": st.booleans()}))


def test_zero_and_constant_pad2d_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    for ours, theirs in [(nn.ZeroPad2d(1), torch.nn.ZeroPad2d(1)),
                         (nn.ConstantPad2d((1, 0, 2, -1), 3.5), torch.nn.ConstantPad2d((1, 0, 2, -1), 3.5))]:
        np.testing.assert_array_equal(ours(gradcnn.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    # a pair pads the last dim only, as in PyTorch; an odd count is refused when the layer is built
    np.testing.assert_array_equal(nn.ZeroPad2d((1, 2))(gradcnn.tensor(x)).numpy(),
                                  torch.nn.ZeroPad2d((1, 2))(torch.tensor(x)).numpy())
    with pytest.raises(gradcnn.errors.ShapeError, match="pairs"):
        nn.ZeroPad2d((1, 2, 3))
    with pytest.raises(gradcnn.errors.DTypeError, match="padding"):
        nn.ZeroPad2d(1.5)


def test_pad_layers_are_layers():
    check_layer(nn.ZeroPad2d, (1, 2, 3, 3), config={"padding": (1, 0, 2, 1)}, output_shape=(1, 2, 6, 4))
