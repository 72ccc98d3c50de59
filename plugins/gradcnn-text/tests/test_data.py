"""LabelledSentences: reading a text,label CSV file, and saying clearly what is wrong with one."""

import gradcnn
import numpy as np
import pytest

from gradcnn_text import FileFormatError, LabelledSentences, Vocabulary


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_become_token_ids_and_sorted_class_indices(tmp_path):
    path = write(tmp_path, 'text,label\nA fine film,pos\n"Dull, slow, long",neg\n\nfine again,pos\n')
    data = LabelledSentences(path)
    assert len(data) == 3 and data.classes == ["neg", "pos"] and data.length == 3
    assert data.texts == ["A fine film", "Dull, slow, long", "fine again"]
    X, y = data.arrays()
    assert X.dtype == np.int64 and X.shape == (3, 3) and y.dtype == np.int64 and y.tolist() == [1, 0, 1]
    ids, label = data[0]
    assert label == 1 and ids.tolist() == data.vocab.encode("a fine film", 3).tolist()
    assert data.vocab.decode(data[2][0]) == ["fine", "again"]


def test_integer_labels_keep_their_values_and_extra_columns_are_ignored(tmp_path):
    path = write(tmp_path, "id,label,text\n1,2,two\n2,10,ten\n3,0,zero\n")
    data = LabelledSentences(path, length=4)
    assert data.classes == [0, 2, 10] and data.arrays()[1].tolist() == [1, 2, 0]
    assert data.arrays()[0].shape == (3, 4)


def test_a_second_split_reuses_vocabulary_and_classes(tmp_path):
    train = LabelledSentences(write(tmp_path, "text,label\ngood film,pos\nbad film,neg\n", "train.csv"))
    train.vocab.save(tmp_path / "vocab.json")
    test_csv = write(tmp_path, "text,label\ngood plot,pos\n", "test.csv")
    for vocab in (train.vocab, tmp_path / "vocab.json"):
        test = LabelledSentences(test_csv, length=2, vocab=vocab, classes=train.classes)
        assert test.vocab == train.vocab and test[0][1] == train.classes.index("pos")
        assert test[0][0].tolist() == [train.vocab.index["good"], 1]  # "plot" is unknown


def test_create_dataset_builds_it(tmp_path):
    path = write(tmp_path, "text,label\nhello there,a\n")
    data = gradcnn.create_dataset("labelled-sentences", path=path, length=5, max_size=3)
    assert isinstance(data, LabelledSentences) and data.vocab.tokens == ["<pad>", "<unk>", "hello"]


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv' is no such file.*text,label"):
        LabelledSentences(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="is a directory"):
        LabelledSentences(tmp_path)


@pytest.mark.parametrize("text, match", [
    ("", r"data\.csv: the file is empty; it needs a header line"),
    ("sentence,label\nhi,1\n", r"data\.csv, line 1: the header 'sentence,label' has no column 'text'"),
    ("text\nhi\n", r"data\.csv, line 1: .* has no column 'label'"),
    ("text,label\n", r"data\.csv: no sentences after the header line"),
    ("text,label\nfine,1\n\nsay, what,0\n", r"data\.csv, line 4: 3 field\(s\) where the header has 2"),
    ('text,label\n"two\nlines",1\nno label, \n', r"data\.csv, line 4: the label is empty"),
])
def test_format_errors_name_the_file_and_line(tmp_path, text, match):
    with pytest.raises(FileFormatError, match=match):
        LabelledSentences(write(tmp_path, text))


def test_a_label_outside_the_given_classes_is_named(tmp_path):
    path = write(tmp_path, "text,label\nok,pos\nmeh,neutral\n")
    with pytest.raises(FileFormatError, match=r"line 3: the label 'neutral' is not one of the 2 classes"):
        LabelledSentences(path, classes=["neg", "pos"])


def test_bytes_that_are_not_utf8_are_reported(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"text,label\ncaf\xe9,1\n")
    with pytest.raises(FileFormatError, match=r"data\.csv: not UTF-8 text"):
        LabelledSentences(path)


def test_a_vocabulary_instance_or_path_is_accepted(tmp_path):
    vocab = Vocabulary.build(["x y"])
    data = LabelledSentences(write(tmp_path, "text,label\nx z,1\n"), vocab=vocab)
    assert data[0][0].tolist() == [vocab.index["x"], 1]
