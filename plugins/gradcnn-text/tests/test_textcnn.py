"""TextCNN: the layer contract (``check_layer`` on token-id inputs) and its argument checks."""

import gradcnn
import numpy as np
import pytest
from gradcnn.errors import DTypeError, ShapeError
from gradcnn.testing import arrays, check_layer
from hypothesis import strategies as st

from gradcnn_text import TextCNN

VOCAB = 7


def token_ids(cfg):
    widest = max(cfg["kernel_sizes"])
    shape = st.tuples(st.integers(1, 2), st.integers(widest, widest + 3))
    # From 1: the <pad> row (0) gets no gradient by design, which finite differences cannot see.
    return arrays(shape, dtype=np.int64, min_value=1, max_value=VOCAB - 1)


def test_textcnn_is_a_layer():
    check_layer(TextCNN, None, input=token_ids,
                config=st.fixed_dictionaries({"vocab_size": st.just(VOCAB), "num_classes": st.integers(2, 3),
                                              "embed_dim": st.integers(1, 3),
                                              "kernel_sizes": st.sampled_from([(1,), (2, 3), (3, 3)]),
                                              "num_filters": st.integers(1, 2),
                                              "dropout": st.sampled_from([0.0, 0.5]),
                                              "padding_idx": st.sampled_from([0, None])}),
                output_shape=lambda shape, cfg: (shape[0], cfg["num_classes"]))


def test_the_pad_row_embeds_as_zeros_and_is_never_trained():
    model = TextCNN(vocab_size=VOCAB, num_classes=2, embed_dim=3, kernel_sizes=(2,), num_filters=2, dropout=0.0)
    model(gradcnn.tensor([[0, 1, 0, 2]])).sum().backward()
    np.testing.assert_array_equal(model.embedding.weight.detach().numpy()[0], 0.0)
    np.testing.assert_array_equal(model.embedding.weight.grad.numpy()[0], 0.0)
    assert np.abs(model.embedding.weight.grad.numpy()[1:3]).sum() > 0


def test_defaults_follow_kim_2014():
    model = TextCNN(vocab_size=50)
    assert model.kernel_sizes == (3, 4, 5)
    assert [conv.weight.shape for conv in model.convs] == [(100, 128, 3), (100, 128, 4), (100, 128, 5)]
    assert model.fc.weight.shape == (2, 300)
    assert model.dropout.p == 0.5 and model.embedding.padding_idx == 0
    out = model(np.zeros((4, 5), dtype=np.int64))
    assert out.shape == (4, 2)


def test_a_sequence_shorter_than_the_widest_kernel_says_to_pad():
    model = TextCNN(vocab_size=20, kernel_sizes=(2, 4), embed_dim=4, num_filters=3)
    message = r"L=3 is shorter than the widest kernel \(kernel_size=4 .*pad every sequence to at least 4 tokens"
    with pytest.raises(ShapeError, match=message):
        model(np.ones((2, 3), dtype=np.int64))


@pytest.mark.parametrize("ids, error, match", [
    (np.ones((2, 6)), DTypeError, "integer token ids, got dtype float64"),
    (np.ones(6, dtype=np.int64), ShapeError, r"shape \(N, L\), got shape \(6,\)"),
])
def test_input_checks(ids, error, match):
    with pytest.raises(error, match=match):
        TextCNN(vocab_size=20, embed_dim=4, num_filters=3)(ids)


@pytest.mark.parametrize("config, match", [
    ({"vocab_size": 0}, "vocab_size must be a positive int, got 0"),
    ({"vocab_size": 10, "num_filters": 2.5}, "num_filters must be a positive int, got 2.5"),
    ({"vocab_size": 10, "kernel_sizes": ()}, "kernel_sizes must be a non-empty sequence"),
    ({"vocab_size": 10, "kernel_sizes": 3}, "kernel_sizes must be a non-empty sequence"),
    ({"vocab_size": 10, "kernel_sizes": (3, 0)}, r"kernel_sizes\[1\] must be a positive int, got 0"),
    ({"vocab_size": 10, "dropout": 1.0}, r"dropout must be a probability in \[0, 1\), got 1.0"),
    ({"vocab_size": 10, "padding_idx": 10}, r"padding_idx must be None or a token id in \[0, 10\)"),
])
def test_configuration_checks(config, match):
    with pytest.raises(ShapeError, match=match):
        TextCNN(**config)
