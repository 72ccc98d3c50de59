"""Loss modules, with ``torch.nn``'s names, arguments and defaults.

Each is a thin ``Module`` over its function in :mod:`gradcnn.functional` (``nn.CrossEntropyLoss``
calls ``F.cross_entropy``), which validates the arguments and computes; a loss and its functional
form reject the same inputs with the same words. Class weights and ``pos_weight`` are buffers, as
in PyTorch: they follow ``.to()`` and appear in ``state_dict()``.

The deprecated ``size_average`` and ``reduce`` arguments keep their positions and are turned into
``reduction`` when the loss is built, with PyTorch's warning.
"""

from .. import functional as F
from ..errors import DTypeError
from ..tensor import Tensor
from .module import Module

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MSELoss", "NLLLoss", "SmoothL1Loss",
]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            # this frame, the subclass's __init__, then the line that built the loss
            reduction = F._legacy_get_string(size_average, reduce, type(self).__name__, stacklevel=4)
        self.reduction = reduction

    def _tensor_buffer(self, name, value):
        """Register ``value`` (a Tensor or None) as the buffer ``name``; the loss names itself when
        it is neither."""
        if value is not None and not isinstance(value, Tensor):
            raise DTypeError(f"{type(self).__name__}: {name} must be a Tensor or None, got {type(value).__name__}")
        self.register_buffer(name, value)


class L1Loss(_Loss):
    """Mean (or summed) absolute error, :func:`gradcnn.functional.l1_loss`.

    Shape: input any; target the input's shape (a broadcastable shape works, with a warning);
    output a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean (or summed) squared error, :func:`gradcnn.functional.mse_loss`.

    Shape: as :class:`L1Loss`.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error above, :func:`gradcnn.functional.smooth_l1_loss`.

    Shape: as :class:`L1Loss`.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Squared error below ``delta``, ``delta`` times the absolute error above,
    :func:`gradcnn.functional.huber_loss`.

    Shape: as :class:`L1Loss`.
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of ``target`` from log-probabilities ``input``,
    :func:`gradcnn.functional.kl_div`. Use ``reduction="batchmean"`` for the divergence itself.

    Shape: input any; target the input's shape; output a scalar, or the input's shape with
    ``reduction="none"``.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities, :func:`gradcnn.functional.binary_cross_entropy`;
    the logs are clamped at -100 as in PyTorch.

    Shape: input any, values in [0, 1]; target the input's shape and dtype; ``weight`` broadcasts
    to the input's shape; output a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self._tensor_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one stable step,
    :func:`gradcnn.functional.binary_cross_entropy_with_logits`.

    Shape: input any (logits); target the input's shape; ``weight`` and ``pos_weight`` broadcast
    to the input's shape (``pos_weight`` of shape ``(C,)`` weighs the positives of each class of
    the last dim); output a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self._tensor_buffer("weight", weight)
        self._tensor_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices under log-probabilities,
    :func:`gradcnn.functional.nll_loss`.

    Shape: input ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``; target ``()``, ``(N,)`` or
    ``(N, d1, ...)`` of int64 (or uint8) class indices; ``weight`` ``(C,)``; output a scalar, or
    the target's shape with ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self._tensor_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits, :func:`gradcnn.functional.cross_entropy`: against class
    indices, or against class probabilities (a floating target of the input's shape), with
    optional ``label_smoothing``.

    Shape: input ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``; target ``()``, ``(N,)`` or
    ``(N, d1, ...)`` of int64 (or uint8) class indices, or the input's shape of probabilities;
    ``weight`` ``(C,)``; output a scalar, or the per-sample shape with ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction)
        self._tensor_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)
