"""gradcnn-text: sentence classification for gradcnn.

* :class:`TextCNN`: Kim (2014)'s convolutional network for sentence classification.
* :func:`tokenize` and :class:`Vocabulary`: words to fixed-length arrays of token ids (JSON files).
* :class:`LabelledSentences`: a ``text,label`` CSV file as token ids and class indices.

Installing the distribution registers the model as ``"textcnn"`` and the dataset as
``"labelled-sentences"`` (entry point ``text`` in the ``gradcnn`` group, :mod:`gradcnn_text.plugin`)::

    model = gradcnn.create_model("textcnn", vocab_size=5000)
    data = gradcnn.create_dataset("labelled-sentences", path="reviews.csv", length=40)
"""

from .data import LabelledSentences
from .model import TextCNN
from .text import PAD, UNK, FileFormatError, Vocabulary, tokenize

__version__ = "0.1.0"

__all__ = ["PAD", "UNK", "FileFormatError", "LabelledSentences", "TextCNN", "Vocabulary", "tokenize"]
