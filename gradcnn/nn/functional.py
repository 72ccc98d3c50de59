"""``gradcnn.nn.functional``: PyTorch's path to :mod:`gradcnn.functional`, the same functions.

``import gradcnn.nn.functional as F`` and ``gradcnn.nn.functional.relu`` both work, as they do in
PyTorch; there is one implementation, in :mod:`gradcnn.functional`.
"""

from ..absent import missing
from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401


def __getattr__(name):
    raise missing("gradcnn.nn.functional", name)
