"""``gradcnn.backends.cudnn``: PyTorch's cuDNN switches, kept so that programs setting them run.

gradcnn does not use cuDNN, and its kernels are deterministic by default, so the flags change
nothing: ``deterministic`` is always effectively true, ``benchmark`` selects nothing.
"""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = False


def is_available():
    """False: gradcnn's CUDA backend does not use cuDNN."""
    return False
