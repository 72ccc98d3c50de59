"""Train a small multilayer perceptron on scikit-learn's handwritten digits (shipped with
scikit-learn, nothing is downloaded), written with the functional API only.

    python examples/train_digits_mlp.py [--epochs 30] [--seed 0]
"""

import argparse
import time

import numpy as np

import gradcnn
import gradcnn.functional as F


def load_digits_split(seed):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # 8x8 images, values 0..16
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


def init_linear(fan_in, fan_out):
    bound = 1.0 / np.sqrt(fan_in)
    w = (gradcnn.rand(fan_out, fan_in) * 2 - 1) * bound
    b = (gradcnn.rand(fan_out) * 2 - 1) * bound
    return w.requires_grad_(), b.requires_grad_()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    gradcnn.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits_split(args.seed)
    w1, b1 = init_linear(64, 128)
    w2, b2 = init_linear(128, 10)
    params = [w1, b1, w2, b2]

    def model(x):
        return F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            loss = F.cross_entropy(model(gradcnn.from_numpy(x_train[idx])), gradcnn.from_numpy(y_train[idx]))
            for p in params:
                p.grad = None
            loss.backward()
            with gradcnn.no_grad():
                for p in params:
                    p.sub_(p.grad * args.lr)
            total += loss.item() * len(idx)
        if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
            with gradcnn.no_grad():
                pred = model(gradcnn.from_numpy(x_test)).argmax(1).numpy()
            acc = float((pred == y_test).mean())
            print(f"epoch {epoch:3d}  train loss {total / len(x_train):.4f}  test accuracy {acc:.2%}")
    print(f"done in {time.perf_counter() - start:.1f} s; final test accuracy {acc:.2%}")
    return acc


if __name__ == "__main__":
    main()
