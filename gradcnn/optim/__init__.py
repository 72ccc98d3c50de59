"""Optimizers and learning-rate schedulers with PyTorch's update rules and state-dict layout."""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "NAdam", "Optimizer", "RAdam", "RMSprop",
           "lr_scheduler"]


def __getattr__(name):
    from ..absent import missing  # a leaf module; imported here so the table loads only on a miss

    raise missing("gradcnn.optim", name)
