"""Train a small convolutional network on scikit-learn's handwritten digits (8x8 images shipped with
scikit-learn: nothing is downloaded), written with the functional API only.

    python examples/train_digits_cnn.py [--epochs 15] [--seed 0]

conv 3x3 (16) -> ReLU -> max-pool 2 -> conv 3x3 (32) -> ReLU -> max-pool 2 -> linear 128 -> 10,
trained with SGD and momentum; prints the loss and test accuracy as it goes.
"""

import argparse
import time

import numpy as np

import gradcnn
import gradcnn.functional as F


def load_digits_split(seed):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8), values 0..1
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def kaiming(*shape):
    fan_in = int(np.prod(shape[1:]))
    return (gradcnn.randn(*shape) * float(np.sqrt(2.0 / fan_in))).requires_grad_()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    gradcnn.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits_split(args.seed)
    params = {
        "conv1.weight": kaiming(16, 1, 3, 3),
        "conv1.bias": gradcnn.zeros(16, requires_grad=True),
        "conv2.weight": kaiming(32, 16, 3, 3),
        "conv2.bias": gradcnn.zeros(32, requires_grad=True),
        "fc.weight": kaiming(10, 32 * 2 * 2),
        "fc.bias": gradcnn.zeros(10, requires_grad=True),
    }
    velocity = {name: np.zeros_like(p.detach().numpy()) for name, p in params.items()}

    def model(x):
        h = F.max_pool2d(F.relu(F.conv2d(x, params["conv1.weight"], params["conv1.bias"], padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, params["conv2.weight"], params["conv2.bias"], padding=1)), 2)
        return F.linear(h.flatten(1), params["fc.weight"], params["fc.bias"])

    def accuracy():
        with gradcnn.no_grad():
            pred = model(gradcnn.from_numpy(x_test)).argmax(1).numpy()
        return float((pred == y_test).mean())

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            loss = F.cross_entropy(model(gradcnn.from_numpy(x_train[idx])), gradcnn.from_numpy(y_train[idx]))
            for p in params.values():
                p.grad = None
            loss.backward()
            with gradcnn.no_grad():
                for name, p in params.items():
                    v = velocity[name]
                    v *= args.momentum
                    v += p.grad.numpy()
                    p.sub_(gradcnn.from_numpy(v) * args.lr)
            total += loss.item() * len(idx)
        acc = accuracy()
        print(f"epoch {epoch:3d}  train loss {total / len(x_train):.4f}  test accuracy {acc:.2%}", flush=True)
    print(f"done in {time.perf_counter() - start:.1f} s; final test accuracy {acc:.2%}")
    return acc


if __name__ == "__main__":
    main()
