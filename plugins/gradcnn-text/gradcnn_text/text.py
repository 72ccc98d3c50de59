"""Words to token ids: :func:`tokenize` and :class:`Vocabulary` (saved as JSON, never pickled)."""

import collections
import json
import numbers
import os
import re

import numpy as np
from gradcnn.errors import GradcnnError, ShapeError

__all__ = ["PAD", "UNK", "FileFormatError", "Vocabulary", "tokenize"]

PAD, UNK = "<pad>", "<unk>"  # ids 0 and 1 in every vocabulary
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # letters and digits, with inner apostrophes: "don't"
_FORMAT = "gradcnn-text vocabulary"


class FileFormatError(GradcnnError, ValueError):
    """A dataset CSV or a saved vocabulary does not have the expected format; the message names
    the file (and the line, for a CSV)."""


def tokenize(text):
    """Lower-cased words of ``text``: runs of letters and digits (any script), keeping inner
    apostrophes; punctuation and underscores separate words. ``"Don't stop!"`` gives
    ``["don't", "stop"]``."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """A token <-> id table whose first two entries are ``<pad>`` (0) and ``<unk>`` (1).

    Build one from texts with :meth:`build`, turn texts into fixed-length id arrays with
    :meth:`encode`, and save it next to the model with :meth:`save` (JSON).
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ShapeError(f"Vocabulary: the tokens must start with {PAD!r}, {UNK!r}, got {tokens[:2]}")
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}
        if len(self.index) != len(tokens):
            repeated = sorted(t for t, n in collections.Counter(tokens).items() if n > 1)
            raise ShapeError(f"Vocabulary: {len(repeated)} token(s) appear more than once: {repeated[:5]}")

    @classmethod
    def build(cls, texts, min_freq=1, max_size=None):
        """The vocabulary of the words in ``texts`` that occur at least ``min_freq`` times, most
        frequent first (ties alphabetically), cut to ``max_size`` entries counting ``<pad>`` and
        ``<unk>``."""
        if not isinstance(min_freq, numbers.Integral) or min_freq < 1:
            raise ShapeError(f"Vocabulary.build: min_freq must be an int >= 1, got {min_freq!r}")
        if max_size is not None and (not isinstance(max_size, numbers.Integral) or max_size < 2):
            raise ShapeError(f"Vocabulary.build: max_size must be None or an int >= 2 (it counts {PAD} "
                             f"and {UNK}), got {max_size!r}")
        counts = collections.Counter(token for text in texts for token in tokenize(text))
        for special in (PAD, UNK):
            counts.pop(special, None)
        words = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max_size - 2]
        return cls([PAD, UNK, *words])

    def __len__(self):
        return len(self.tokens)

    def __contains__(self, token):
        return token in self.index

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def __repr__(self):
        return f"Vocabulary({len(self)} tokens)"

    def encode(self, text, length):
        """The ids of ``text``'s words (``<unk>`` for unknown ones), cut or padded with ``<pad>``
        at the end to exactly ``length``: an ``np.int64`` array of shape ``(length,)``."""
        if not isinstance(length, numbers.Integral) or isinstance(length, bool) or length < 1:
            raise ShapeError(f"Vocabulary.encode: length must be a positive int, got {length!r}")
        ids = np.zeros(length, dtype=np.int64)  # PAD is 0
        words = tokenize(text)[:length]
        ids[: len(words)] = [self.index.get(w, 1) for w in words]
        return ids

    def encode_batch(self, texts, length):
        """:meth:`encode` for each text: an ``np.int64`` array of shape ``(len(texts), length)``."""
        rows = [self.encode(text, length) for text in texts]
        return np.stack(rows) if rows else np.zeros((0, length), dtype=np.int64)

    def decode(self, ids):
        """The tokens of ``ids``, ``<pad>`` left out."""
        return [self.tokens[i] for i in np.asarray(ids).ravel().tolist() if i != 0]

    # -- JSON --------------------------------------------------------------------------------

    def to_json(self):
        return json.dumps({"format": _FORMAT, "version": 1, "tokens": self.tokens}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text, source="JSON text"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"Vocabulary: {source} is not JSON ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise FileFormatError(f"Vocabulary: {source} is not a saved vocabulary "
                                  f"(no \"format\": {_FORMAT!r})")
        if data.get("version") != 1:
            raise FileFormatError(f"Vocabulary: {source} has version {data.get('version')!r}; this "
                                  f"gradcnn-text reads version 1")
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise FileFormatError(f"Vocabulary: {source}: \"tokens\" must be a list of strings")
        return cls(tokens)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read(), source=os.fspath(path))
