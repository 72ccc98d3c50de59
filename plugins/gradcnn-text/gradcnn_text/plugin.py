"""The gradcnn plugin: the entry point ``text`` in the ``gradcnn`` group names this module."""

import gradcnn

from .data import LabelledSentences
from .model import TextCNN


@gradcnn.hookimpl
def register_architectures(register):
    register("textcnn", TextCNN)


@gradcnn.hookimpl
def register_datasets(register):
    register("labelled-sentences", LabelledSentences)
