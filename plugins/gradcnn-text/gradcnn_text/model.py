"""Kim (2014), "Convolutional Neural Networks for Sentence Classification", as a gradcnn module."""

import numbers

import gradcnn
import gradcnn.functional as F
import numpy as np
from gradcnn import nn
from gradcnn.errors import DTypeError, ShapeError

__all__ = ["TextCNN"]


def _positive(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ShapeError(f"TextCNN: {name} must be a positive int, got {value!r}")
    return int(value)


class TextCNN(nn.Module):
    """Embedding, then one bank of ``num_filters`` 1-D convolutions per width in ``kernel_sizes``
    (ReLU, max over time), the pooled features concatenated, dropout, and a linear classifier.

    ``padding_idx`` (the vocabulary's ``<pad>``, 0) embeds as zeros and is never trained. Every
    sequence must be at least as long as the widest kernel: pad short ones when encoding them
    (``Vocabulary.encode(text, length)``) rather than here.

    Shape: input ``(N, L)`` integer token ids with ``L >= max(kernel_sizes)``, output
    ``(N, num_classes)`` logits.
    """

    def __init__(self, vocab_size, num_classes=2, embed_dim=128, kernel_sizes=(3, 4, 5), num_filters=100,
                 dropout=0.5, padding_idx=0):
        super().__init__()
        self.vocab_size = _positive(vocab_size, "vocab_size")
        self.num_classes = _positive(num_classes, "num_classes")
        self.embed_dim = _positive(embed_dim, "embed_dim")
        self.num_filters = _positive(num_filters, "num_filters")
        if isinstance(kernel_sizes, numbers.Integral) or not kernel_sizes:
            raise ShapeError(f"TextCNN: kernel_sizes must be a non-empty sequence of positive ints "
                             f"(say (3, 4, 5)), got {kernel_sizes!r}")
        self.kernel_sizes = tuple(_positive(k, f"kernel_sizes[{i}]") for i, k in enumerate(kernel_sizes))
        if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ShapeError(f"TextCNN: dropout must be a probability in [0, 1), got {dropout!r}")
        if padding_idx is not None and (not isinstance(padding_idx, numbers.Integral)
                                        or not 0 <= padding_idx < self.vocab_size):
            raise ShapeError(f"TextCNN: padding_idx must be None or a token id in [0, {self.vocab_size}) "
                             f"(vocab_size={self.vocab_size}), got {padding_idx!r}")
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(self.vocab_size, self.embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList(nn.Conv1d(self.embed_dim, self.num_filters, k) for k in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(len(self.kernel_sizes) * self.num_filters, self.num_classes)

    def forward(self, input):
        ids = input if isinstance(input, gradcnn.Tensor) else gradcnn.from_numpy(np.asarray(input))
        if np.dtype(ids.dtype).kind not in "iu":
            raise DTypeError(f"TextCNN: input must hold integer token ids, got dtype {np.dtype(ids.dtype).name}")
        if ids.ndim != 2:
            raise ShapeError(f"TextCNN: input must be token ids of shape (N, L), got shape {tuple(ids.shape)}")
        widest = max(self.kernel_sizes)
        if ids.shape[1] < widest:
            raise ShapeError(f"TextCNN: sequence length L={ids.shape[1]} is shorter than the widest kernel "
                             f"(kernel_size={widest} in kernel_sizes={self.kernel_sizes}); pad every "
                             f"sequence to at least {widest} tokens when encoding it "
                             f"(Vocabulary.encode(text, length={widest}) or longer)")
        x = self.embedding(ids).transpose(1, 2)  # (N, L, E) -> (N, E, L): embedding dims are channels
        features = [F.adaptive_max_pool1d(F.relu(conv(x)), 1).flatten(1) for conv in self.convs]
        return self.fc(self.dropout(gradcnn.cat(features, dim=1)))

    @classmethod
    def check_layer_example(cls):
        """The ``check_layer`` arguments that ``gradcnn check-plugin text`` tests this class with:
        a small model, and token ids at least as long as its widest kernel."""
        from gradcnn.testing import arrays  # needs hypothesis, a test dependency: imported only here
        from hypothesis import strategies as st

        config = {"vocab_size": 7, "num_classes": 3, "embed_dim": 2, "kernel_sizes": (2, 3), "num_filters": 2}
        shapes = st.tuples(st.integers(1, 2), st.integers(3, 6))  # (N, L), L >= the widest kernel
        # Tokens from 1: the <pad> row (0) is deliberately never trained, which finite differences
        # cannot see, so the gradient check leaves it out.
        token_ids = arrays(shapes, dtype=np.int64, min_value=1, max_value=6)
        return {"config": config, "input": token_ids, "output_shape": lambda shape, _cfg: (shape[0], 3)}
