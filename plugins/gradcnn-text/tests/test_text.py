"""tokenize and Vocabulary: building, encoding, and the JSON round trip."""

import json

import numpy as np
import pytest
from gradcnn.errors import ShapeError

from gradcnn_text import PAD, UNK, FileFormatError, Vocabulary, tokenize

TEXTS = ["The cat sat.", "the CAT ran", "a dog ran, the end"]


def test_tokenize_lowercases_and_splits_on_punctuation():
    words = ["don't", "stop", "me", "now", "3", "cafés", "2nd"]
    assert tokenize("Don't STOP-me_now!  3 cafés, 2nd.") == words
    assert tokenize("  ... ") == []


def test_build_orders_by_frequency_then_alphabetically():
    vocab = Vocabulary.build(TEXTS)
    assert vocab.tokens == [PAD, UNK, "the", "cat", "ran", "a", "dog", "end", "sat"]
    assert len(vocab) == 9 and "dog" in vocab and "cow" not in vocab


def test_min_freq_and_max_size():
    assert Vocabulary.build(TEXTS, min_freq=2).tokens == [PAD, UNK, "the", "cat", "ran"]
    assert Vocabulary.build(TEXTS, max_size=4).tokens == [PAD, UNK, "the", "cat"]
    with pytest.raises(ShapeError, match="max_size must be None or an int >= 2"):
        Vocabulary.build(TEXTS, max_size=1)
    with pytest.raises(ShapeError, match="min_freq must be an int >= 1"):
        Vocabulary.build(TEXTS, min_freq=0)


def test_encode_pads_truncates_and_maps_unknown_words():
    vocab = Vocabulary.build(TEXTS)
    ids = vocab.encode("The cow sat", 5)
    assert ids.dtype == np.int64 and ids.tolist() == [2, 1, 8, 0, 0]
    assert vocab.encode("the cat sat on the mat", 3).tolist() == [2, 3, 8]
    batch = vocab.encode_batch(["cat", "dog ran"], 4)
    assert batch.dtype == np.int64 and batch.tolist() == [[3, 0, 0, 0], [6, 4, 0, 0]]
    assert vocab.encode_batch([], 4).shape == (0, 4)
    assert vocab.decode(ids) == ["the", UNK, "sat"]
    with pytest.raises(ShapeError, match="length must be a positive int, got 0"):
        vocab.encode("cat", 0)


def test_json_round_trip(tmp_path):
    vocab = Vocabulary.build(TEXTS + ["naïve café"])
    path = tmp_path / "vocab.json"
    vocab.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))  # plain JSON, no pickle
    assert data["tokens"] == vocab.tokens
    again = Vocabulary.load(path)
    assert again == vocab and again.index == vocab.index
    assert Vocabulary.from_json(vocab.to_json()) == vocab


@pytest.mark.parametrize("text, match", [
    ("not json", "is not JSON"),
    ('{"tokens": ["<pad>", "<unk>"]}', "is not a saved vocabulary"),
    ('{"format": "gradcnn-text vocabulary", "version": 2, "tokens": []}', "has version 2"),
    ('{"format": "gradcnn-text vocabulary", "version": 1, "tokens": [1, 2]}', "must be a list of strings"),
])
def test_loading_a_bad_file_names_it(tmp_path, text, match):
    path = tmp_path / "vocab.json"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match) as info:
        Vocabulary.load(path)
    assert str(path) in str(info.value)


def test_the_special_tokens_come_first_and_tokens_are_unique():
    with pytest.raises(ShapeError, match="must start with '<pad>', '<unk>'"):
        Vocabulary(["a", PAD, UNK])
    with pytest.raises(ShapeError, match=r"1 token\(s\) appear more than once: \['a'\]"):
        Vocabulary([PAD, UNK, "a", "a"])
