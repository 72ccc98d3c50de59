"""PyTorch names that gradcnn does not provide, and what to use instead: one table.

The package modules (``gradcnn``, ``gradcnn.nn``, ``gradcnn.functional`` /
``gradcnn.nn.functional``, ``gradcnn.optim``, ``gradcnn.optim.lr_scheduler``,
``gradcnn.utils.data``) end their attribute lookup here, so a ported program that reaches for one of
these names stops with an AttributeError saying so and pointing at the nearest gradcnn equivalent,
instead of a bare "has no attribute". docs/porting.md lists the same table (a test keeps the two in
step)."""

from .errors import MissingNameError

__all__ = ["ABSENT", "missing"]

_RNN = "gradcnn is a library for convolutional networks; for sequences use Conv1d over time"
_3D = "gradcnn's convolution and pooling are 1-D and 2-D; fold the extra dim into the batch"

ABSENT = {
    "gradcnn": {
        "jit": "gradcnn runs eagerly; there is no TorchScript (export models with gradcnn.onnx.export)",
        "compile": "gradcnn runs eagerly; its kernels are already compiled by Numba (gradcnn.warmup())",
        "fx": "there is no graph capture API; gradcnn.autograd.function.observe_calls traces primitive calls",
        "amp": "there is no automatic mixed precision; float16 tensors compute with float32 accumulation",
        "autocast": "there is no automatic mixed precision; cast with .half() / .float() yourself",
        "quantization": "there is no quantization",
        "sparse": "there are no sparse tensors",
        "fft": "there is no FFT module; use numpy.fft on tensor.numpy()",
        "linalg": "only products are provided: gradcnn.matmul, mm, bmm, dot, outer and Tensor.norm",
        "distributions": "there is no distributions module; draw with gradcnn.normal / rand / randint",
        "hub": "nothing is downloaded, ever; build models with gradcnn.create_model and load safetensors files",
        "special": "there is no special-functions module",
        "vmap": "there is no vmap; write the batch dimension explicitly",
        "func": "there is no functional-transform API; use gradcnn.grad for gradients",
        "complex64": "there are no complex tensors",
        "cfloat": "there are no complex tensors",
        "bfloat16": "bfloat16 is not supported; use float16 or float32",
        "channels_last": "tensors are always NCHW (contiguous)",
        "conv3d": _3D,
        "einsum": "there is no einsum; combine matmul, permute and sum",
        "cdist": "there is no cdist; compute ((a[:, None] - b[None]) ** 2).sum(-1).sqrt()",
        "lstm": _RNN,
        "Size": "shapes are plain tuples: compare t.shape with a tuple",
        "prod": "there is no prod yet; take exp(log(x).sum()) for positive x",
        "nonzero": "there is no nonzero yet; use a bool mask and where",
        "roll": "there is no roll yet; cat two slices",
        "repeat_interleave": "there is no repeat_interleave yet; use unsqueeze, expand and reshape",
        "index_select": "there is no index_select yet; index with an integer tensor: x[:, idx]",
        "masked_select": "there is no masked_select yet; index with a bool tensor: x[mask]",
        "tril": "there is no tril yet; multiply by a mask built with arange",
        "triu": "there is no triu yet; multiply by a mask built with arange",
        "finfo": "use numpy.finfo(tensor.dtype)",
        "iinfo": "use numpy.iinfo(tensor.dtype)",
    },
    "gradcnn.nn": {
        "LSTM": _RNN, "GRU": _RNN, "RNN": _RNN, "LSTMCell": _RNN, "GRUCell": _RNN, "RNNCell": _RNN,
        "Transformer": "there are no attention layers; gradcnn is for convolutional networks",
        "TransformerEncoder": "there are no attention layers; gradcnn is for convolutional networks",
        "TransformerEncoderLayer": "there are no attention layers; gradcnn is for convolutional networks",
        "MultiheadAttention": "there are no attention layers; gradcnn is for convolutional networks",
        "Conv3d": _3D, "ConvTranspose3d": _3D, "MaxPool3d": _3D, "AvgPool3d": _3D, "BatchNorm3d": _3D,
        "AdaptiveAvgPool3d": _3D, "AdaptiveMaxPool3d": _3D, "LazyConv3d": _3D, "Dropout3d": _3D,
        "ReflectionPad2d": "only constant padding is provided: nn.ZeroPad2d or F.pad(mode='constant')",
        "ReplicationPad2d": "only constant padding is provided: nn.ZeroPad2d or F.pad(mode='constant')",
        "EmbeddingBag": "use nn.Embedding followed by a sum or mean over the bag dim",
        "CTCLoss": "there is no CTC loss",
        "GELU": "there is no GELU yet (it needs erf); SiLU, Mish and Softplus are provided",
        "InstanceNorm2d": "there is no instance norm yet; GroupNorm(num_channels, num_channels) normalises the same way",
        "PixelShuffle": "there is no pixel shuffle yet; reshape and permute do it",
        "ParameterList": "keep the parameters in a ModuleList of modules, or register each with register_parameter",
        "ParameterDict": "keep the parameters in a ModuleDict of modules, or register each with register_parameter",
    },
    "gradcnn.functional": {
        "conv3d": _3D, "max_pool3d": _3D, "avg_pool3d": _3D,
        "scaled_dot_product_attention": "there are no attention ops; gradcnn is for convolutional networks",
        "grid_sample": "there is no grid sampling; F.interpolate resizes",
        "affine_grid": "there is no grid sampling; F.interpolate resizes",
        "unfold": "there is no public im2col; the convolution kernels use it internally",
        "fold": "there is no public col2im; the convolution kernels use it internally",
        "ctc_loss": "there is no CTC loss",
        "gelu": "there is no gelu yet (it needs erf); F.silu, F.mish and F.softplus are provided",
        "normalize": "there is no normalize yet; divide by x.norm(2, dim, keepdim=True).clamp(min=eps)",
        "cosine_similarity": "there is no cosine_similarity yet; (a * b).sum(dim) over the product of norms",
        "pixel_shuffle": "there is no pixel_shuffle yet; reshape and permute do it",
        "instance_norm": "there is no instance_norm yet; F.group_norm with one group per channel",
    },
    "gradcnn.optim": {
        "LBFGS": "there is no LBFGS; use Adam or SGD",
        "SparseAdam": "there are no sparse tensors; use Adam",
        "Rprop": "there is no Rprop; use Adam, RMSprop or SGD",
        "ASGD": "there is no ASGD; use SGD",
        "Adamax": "there is no Adamax; use Adam",
    },
    "gradcnn.optim.lr_scheduler": {
        "ConstantLR": "LambdaLR expresses it: lambda e: factor if e < total_iters else 1.0",
        "MultiplicativeLR": "LambdaLR expresses it, with the product of the factors so far",
        "PolynomialLR": "LambdaLR expresses it: lambda e: (1 - min(e, total_iters) / total_iters) ** power",
        "CyclicLR": "LambdaLR expresses it with a triangle wave of the step count; or use OneCycleLR",
        "ChainedScheduler": "LambdaLR expresses it, with the product of the schedules' factors",
    },
}
ABSENT["gradcnn.nn.functional"] = ABSENT["gradcnn.functional"]


def missing(module, name):
    """The AttributeError (a :class:`~gradcnn.errors.MissingNameError`) for ``module.name``: PyTorch has it, gradcnn does not (with what to use
    instead), or neither does."""
    reason = ABSENT.get(module, {}).get(name)
    if reason is not None:
        return MissingNameError(
            f"module {module!r} has no attribute {name!r}: PyTorch's {name} is not provided by gradcnn; "
            f"{reason} (see docs/porting.md)"
        )
    return MissingNameError(f"module {module!r} has no attribute {name!r}")
