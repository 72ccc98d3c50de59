"""LeNet-5 on the full Fashion-MNIST (60k train / 10k test): test accuracy and seconds per epoch,
for gradcnn and, when torch is installed, the same model and hyperparameters in torch CPU in the
same run (ratio of epoch times).

    python benchmarks/train_fashion_mnist.py [--epochs 10] [--batch-size 128] [--lr 0.001]
                                             [--data-dir DIR] [--no-torch]

The IDX files come from --data-dir, $GRADCNN_DATA/fashion-mnist/ or Debian's dataset-fashion-mnist
package (/usr/share/datasets/fashion-mnist/); nothing is downloaded. Both libraries train with Adam
on inputs normalised by the training set's mean and standard deviation, shuffled by the same seed.
"""

import argparse
import statistics
import time

import numpy as np

import gradcnn
import gradcnn.functional as F
from gradcnn import optim
from gradcnn.data import DataLoader, TensorDataset


def load(data_dir):
    config = {} if data_dir is None else {"data_dir": data_dir}
    train = gradcnn.create_dataset("fashion-mnist", split="train", **config)
    test = gradcnn.create_dataset("fashion-mnist", split="test", **config)
    mean, std = train.images.mean(), train.images.std()
    norm = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return norm(train.images), train.labels, norm(test.images), test.labels


def run_gradcnn(x, y, xt, yt, args):
    gradcnn.manual_seed(args.seed)
    model = gradcnn.create_model("lenet5", num_classes=10)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    times, acc = [], 0.0
    for epoch in range(args.epochs):
        model.train()
        start = time.perf_counter()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
        model.eval()
        with gradcnn.no_grad():
            pred = np.concatenate([model(gradcnn.from_numpy(xt[i:i + 1000])).argmax(1).numpy()
                                   for i in range(0, len(xt), 1000)])
        acc = float((pred == yt).mean())
        print(f"gradcnn epoch {epoch + 1}: {times[-1]:.1f} s, test accuracy {acc:.2%}", flush=True)
    return times, acc


def run_torch(x, y, xt, yt, args):
    import torch
    from torch import nn

    torch.manual_seed(args.seed)
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                          nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    xs, ys, xts = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt)
    rng = np.random.default_rng(args.seed)
    times, acc = [], 0.0
    for epoch in range(args.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x)))
        start = time.perf_counter()
        for i in range(0, len(x), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = nn.functional.cross_entropy(model(xs[idx]), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            acc = float((model(xts).argmax(1).numpy() == yt).mean())
        print(f"torch   epoch {epoch + 1}: {times[-1]:.1f} s, test accuracy {acc:.2%}", flush=True)
    return times, acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    x, y, xt, yt = load(args.data_dir)
    print(f"fashion-mnist: {len(x)} train, {len(xt)} test, input {x.shape[1:]}; LeNet-5, Adam lr {args.lr}, "
          f"batch {args.batch_size}, {args.epochs} epochs")
    gradcnn.warmup()
    g_times, g_acc = run_gradcnn(x, y, xt, yt, args)
    lines = [f"gradcnn: test accuracy {g_acc:.2%}, median epoch {statistics.median(g_times):.1f} s"]
    if not args.no_torch:
        try:
            t_times, t_acc = run_torch(x, y, xt, yt, args)
        except ImportError:
            lines.append("torch not importable: no reference")
        else:
            ratio = statistics.median(g_times) / statistics.median(t_times)
            lines.append(f"torch:   test accuracy {t_acc:.2%}, median epoch {statistics.median(t_times):.1f} s")
            lines.append(f"epoch time gradcnn/torch: {ratio:.2f}x")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
