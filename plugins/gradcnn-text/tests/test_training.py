"""End to end: a synthetic two-class corpus written to CSV, loaded as a dataset, and learned by
TextCNN with a hand-written Adam loop, well above chance on held-out sentences."""

import csv

import gradcnn
import gradcnn.functional as F
import numpy as np

from gradcnn_text import LabelledSentences, TextCNN

POSITIVE = "good great fine superb lovely bright warm happy brilliant charming fresh clever vivid".split()
NEGATIVE = "bad awful dull boring poor bleak cold sad clumsy stale tedious weak messy".split()
SHARED = "solid quiet".split()  # words of both classes: the pools are only mostly disjoint
NOISE = ("the a film plot story actor scene it was is and of to in this that with very quite rather "
         "really some long short music ending").split()


def corpus(n, seed):
    """``n`` sentences of 6 to 14 words: mostly noise, and one to three words from the pool of the
    sentence's class (or the shared pool)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = rng.choice(["negative", "positive"])
        pool = (POSITIVE if label == "positive" else NEGATIVE) + SHARED
        words = list(rng.choice(NOISE, size=rng.integers(5, 12)))
        for _ in range(rng.integers(1, 4)):
            words.insert(rng.integers(0, len(words) + 1), rng.choice(pool))
        rows.append((" ".join(words).capitalize() + ".", label))
    return rows


def adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-8):
    """Adam (Kingma and Ba, 2015) over ``params``: returns ``step()``, applying one update from
    their ``.grad``."""
    moments = [(np.zeros_like(p._data), np.zeros_like(p._data)) for p in params]
    t = 0

    def step():
        nonlocal t
        t += 1
        with gradcnn.no_grad():
            for p, (m, v) in zip(params, moments):
                g = p.grad.numpy()
                m *= betas[0]
                m += (1 - betas[0]) * g
                v *= betas[1]
                v += (1 - betas[1]) * g * g
                update = lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
                p.sub_(gradcnn.from_numpy(update.astype(p._data.dtype)))

    return step


def test_textcnn_learns_a_synthetic_corpus(tmp_path):
    path = tmp_path / "corpus.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(corpus(300, seed=0))
    data = gradcnn.create_dataset("labelled-sentences", path=path, length=16)
    assert isinstance(data, LabelledSentences) and data.classes == ["negative", "positive"]
    X, y = data.arrays()
    X_train, y_train, X_test, y_test = X[:240], y[:240], X[240:], y[240:]

    gradcnn.manual_seed(0)
    model = gradcnn.create_model("textcnn", vocab_size=len(data.vocab), num_classes=len(data.classes),
                                 embed_dim=32, kernel_sizes=(2, 3), num_filters=16, dropout=0.3)
    assert isinstance(model, TextCNN)
    params = list(model.parameters())
    step = adam(params)
    rng = np.random.default_rng(0)
    for _epoch in range(10):
        model.train()
        order = rng.permutation(len(X_train))
        for i in range(0, len(order), 32):
            batch = order[i : i + 32]
            loss = F.cross_entropy(model(X_train[batch]), gradcnn.from_numpy(y_train[batch]))
            for p in params:
                p.grad = None
            loss.backward()
            step()

    model.eval()
    with gradcnn.no_grad():
        predicted = model(X_test).argmax(1).numpy()
    accuracy = float((predicted == y_test).mean())
    print(f"held-out accuracy {accuracy:.2%} on {len(y_test)} sentences")
    assert accuracy > 0.85
