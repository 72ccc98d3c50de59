"""``LabelledSentences``: a CSV file of labelled sentences, read from a path the user gives."""

import csv
import os
import re

import numpy as np

from .text import FileFormatError, Vocabulary, tokenize

__all__ = ["LabelledSentences"]

_COLUMNS = ("text", "label")
_INTEGER = re.compile(r"[+-]?\d+")


class LabelledSentences:
    """The sentences of a CSV file whose header line names the columns ``text`` and ``label``
    (others are ignored; quote texts that hold commas), as token ids and class indices.

    * ``path``: the CSV file (UTF-8). Nothing is ever downloaded.
    * ``length``: every sentence is cut or padded to this many tokens (default: the longest).
    * ``vocab``: a :class:`~gradcnn_text.Vocabulary` or the path of one saved as JSON; by default
      one is built from this file's texts with ``min_freq`` and ``max_size``.
    * ``classes``: the class of each index; by default the file's labels sorted (numerically when
      every label is an integer, so labels 0 and 1 keep their values).

    Give a test split the training split's ``vocab`` and ``classes`` so that ids and indices agree.
    ``data[i]`` is ``(ids, label)``: ``ids`` an ``np.int64`` array of shape ``(length,)``, ``label``
    an int; :meth:`arrays` gives all of them at once.
    """

    def __init__(self, path, length=None, vocab=None, classes=None, min_freq=1, max_size=None):
        self.path = os.fspath(path)
        self.texts, labels, lines = _read(self.path)
        if vocab is None:
            vocab = Vocabulary.build(self.texts, min_freq=min_freq, max_size=max_size)
        elif not isinstance(vocab, Vocabulary):
            vocab = Vocabulary.load(vocab)
        self.vocab = vocab
        self.classes = _classes(labels) if classes is None else list(classes)
        self.length = max(1, *(len(tokenize(t)) for t in self.texts)) if length is None else length
        self._x = vocab.encode_batch(self.texts, self.length)
        self._y = np.array([self._index(label, line) for label, line in zip(labels, lines)], dtype=np.int64)

    def _index(self, label, line):
        for key in ((int(label), label) if _INTEGER.fullmatch(label) else (label,)):
            if key in self.classes:
                return self.classes.index(key)
        raise FileFormatError(f"{self.path}, line {line}: the label {label!r} is not one of the "
                              f"{len(self.classes)} classes {self.classes}")

    def __len__(self):
        return len(self._y)

    def __getitem__(self, i):
        return self._x[i].copy(), int(self._y[i])

    def arrays(self):
        """``(X, y)``: token ids ``np.int64 (N, length)`` and class indices ``np.int64 (N,)``."""
        return self._x.copy(), self._y.copy()

    def __repr__(self):
        return (f"LabelledSentences({self.path!r}: {len(self)} sentences, {len(self.classes)} classes, "
                f"length {self.length}, {len(self.vocab)} tokens)")


def _classes(labels):
    if all(_INTEGER.fullmatch(label) for label in labels):
        return sorted({int(label) for label in labels})
    return sorted(set(labels))


def _read(path):
    """Texts, labels (stripped strings) and the line each row starts on."""
    if not os.path.isfile(path):
        what = "a directory" if os.path.isdir(path) else "no such file"
        raise FileNotFoundError(f"LabelledSentences: {path!r} is {what}; give the path of a CSV file whose "
                                f"first line names the columns, text,label")
    texts, labels, lines = [], [], []
    line = 1
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: tolerate a byte order mark
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise FileFormatError(f"{path}: the file is empty; it needs a header line naming the "
                                      f"columns, text,label, then one row per sentence")
            names = [name.strip().lower() for name in header]
            missing = [column for column in _COLUMNS if column not in names]
            if missing:
                raise FileFormatError(f"{path}, line 1: the header {','.join(header)!r} has no column "
                                      f"{' and no column '.join(map(repr, missing))}; the first line must "
                                      f"name the columns, text,label")
            text_at, label_at = names.index("text"), names.index("label")
            line = reader.line_num + 1
            for row in reader:
                if row and any(field.strip() for field in row):  # blank lines are skipped
                    if len(row) != len(header):
                        raise FileFormatError(f"{path}, line {line}: {len(row)} field(s) where the header "
                                              f"has {len(header)} ({','.join(header)}); quote texts that "
                                              f"hold commas")
                    label = row[label_at].strip()
                    if not label:
                        raise FileFormatError(f"{path}, line {line}: the label is empty")
                    texts.append(row[text_at])
                    labels.append(label)
                    lines.append(line)
                line = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise FileFormatError(f"{path}, line {line}: {exc}") from exc
    if not texts:
        raise FileFormatError(f"{path}: no sentences after the header line")
    return texts, labels, lines
