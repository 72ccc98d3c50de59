"""LeNet-5 on the full Fashion-MNIST (60k train / 10k test): test accuracy and seconds per epoch,
for gradcnn and, when torch is installed, the same model and hyperparameters in torch CPU in the
same run (ratio of epoch times).

    python benchmarks/train_fashion_mnist.py [--epochs 10] [--batch-size 128] [--lr 0.001]
                                             [--data-dir DIR] [--no-torch] [--synthetic]
                                             [--json results.json]

The IDX files come from --data-dir, $GRADCNN_DATA/fashion-mnist/ or Debian's dataset-fashion-mnist
package (/usr/share/datasets/fashion-mnist/); nothing is downloaded. Without them the script says so
and exits (status 0): there is nothing to train on. ``--synthetic`` times epochs on random images of
the dataset's shape instead (60,000 of 1x32x32, 10 classes; the accuracy is then chance and is not
a result): an epoch's time does not depend on what the pixels are.

Both libraries train with Adam on inputs normalised by the training set's mean and standard
deviation, shuffled by the same seed. Epochs alternate between the libraries (gradcnn's first epoch,
torch's first, gradcnn's second, ...), so that both run under the same load on a shared machine;
the ratio is of the median epoch times, and its spread the lowest and highest ratio of one
gradcnn epoch to the torch epoch after it.
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np

import gradcnn
import gradcnn.functional as F
from gradcnn import optim
from gradcnn.data import DataLoader, TensorDataset
from gradcnn.errors import GradcnnError

SYNTHETIC_TRAIN, SYNTHETIC_TEST, SIDE = 60000, 10000, 32


def load(data_dir):
    config = {} if data_dir is None else {"data_dir": data_dir}
    train = gradcnn.create_dataset("fashion-mnist", split="train", **config)
    test = gradcnn.create_dataset("fashion-mnist", split="test", **config)
    mean, std = train.images.mean(), train.images.std()
    norm = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return norm(train.images), train.labels, norm(test.images), test.labels


def synthetic(seed):
    rng = np.random.default_rng(seed)

    def images(n):
        return rng.standard_normal((n, 1, SIDE, SIDE), dtype=np.float32)

    labels = lambda n: rng.integers(0, 10, n).astype(np.int64)  # noqa: E731
    return images(SYNTHETIC_TRAIN), labels(SYNTHETIC_TRAIN), images(SYNTHETIC_TEST), labels(SYNTHETIC_TEST)


class GradcnnRun:
    name = "gradcnn"

    def __init__(self, x, y, xt, yt, args):
        gradcnn.manual_seed(args.seed)
        self.model = gradcnn.create_model("lenet5", num_classes=10)
        self.opt = optim.Adam(self.model.parameters(), lr=args.lr)
        self.loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
        self.xt, self.yt = xt, yt

    def epoch(self):
        self.model.train()
        start = time.perf_counter()
        for xb, yb in self.loader:
            loss = F.cross_entropy(self.model(xb), yb)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return time.perf_counter() - start

    def accuracy(self):
        self.model.eval()
        with gradcnn.no_grad():
            pred = np.concatenate([self.model(gradcnn.from_numpy(self.xt[i:i + 1000])).argmax(1).numpy()
                                   for i in range(0, len(self.xt), 1000)])
        return float((pred == self.yt).mean())


class TorchRun:
    name = "torch"

    def __init__(self, x, y, xt, yt, args):
        import torch
        from torch import nn

        self.torch = torch
        torch.manual_seed(args.seed)
        self.model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                                   nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                   nn.ReLU(), nn.Linear(84, 10))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.xs, self.ys, self.xts, self.yt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt), yt
        self.rng = np.random.default_rng(args.seed)
        self.batch_size = args.batch_size

    def epoch(self):
        torch, nn = self.torch, self.torch.nn
        self.model.train()
        order = torch.from_numpy(self.rng.permutation(len(self.xs)))
        start = time.perf_counter()
        for i in range(0, len(self.xs), self.batch_size):
            idx = order[i:i + self.batch_size]
            loss = nn.functional.cross_entropy(self.model(self.xs[idx]), self.ys[idx])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return time.perf_counter() - start

    def accuracy(self):
        self.model.eval()
        with self.torch.no_grad():
            return float((self.model(self.xts).argmax(1).numpy() == self.yt).mean())


def run(x, y, xt, yt, args, with_torch=True):
    runs = [GradcnnRun(x, y, xt, yt, args)]
    if with_torch:
        try:
            runs.append(TorchRun(x, y, xt, yt, args))
        except ImportError:
            print("torch not importable: no reference", flush=True)
    times = {r.name: [] for r in runs}
    accuracy = {}
    for epoch in range(args.epochs):
        for r in runs if epoch % 2 == 0 else runs[::-1]:
            time.sleep(0.25)  # the other library's spinning threads go to sleep first
            times[r.name].append(r.epoch())
            accuracy[r.name] = r.accuracy()
            print(f"{r.name:8s} epoch {epoch + 1}: {times[r.name][-1]:.1f} s, test accuracy {accuracy[r.name]:.2%}",
                  flush=True)
    result = {"epochs": args.epochs, "batch_size": args.batch_size, "synthetic": args.synthetic,
              "epoch_s": times, "test_accuracy": accuracy,
              "median_epoch_s": {k: statistics.median(v) for k, v in times.items()}}
    if "torch" in times:
        med = result["median_epoch_s"]
        result["ratio"] = med["gradcnn"] / med["torch"]
        pairs = [g / t for g, t in zip(times["gradcnn"], times["torch"])]
        result["ratio_spread"] = [min(pairs), max(pairs)]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--synthetic", action="store_true",
                        help="time epochs on random images of Fashion-MNIST's shape (no data needed; accuracy is chance)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.synthetic:
        x, y, xt, yt = synthetic(args.seed)
        source = "synthetic data of Fashion-MNIST's shape (accuracy is chance, not a result)"
    else:
        try:
            x, y, xt, yt = load(args.data_dir)
        except (GradcnnError, OSError) as exc:
            print(f"train_fashion_mnist: skipped, no Fashion-MNIST data: {exc}", file=sys.stderr)
            print("(--synthetic times epochs on random images of the same shape instead)", file=sys.stderr)
            return None
        source = "fashion-mnist"
    print(f"{source}: {len(x)} train, {len(xt)} test, input {x.shape[1:]}; LeNet-5, Adam lr {args.lr}, "
          f"batch {args.batch_size}, {args.epochs} epochs", flush=True)
    gradcnn.warmup()
    result = run(x, y, xt, yt, args, with_torch=not args.no_torch)
    med, acc = result["median_epoch_s"], result["test_accuracy"]
    for name in med:
        print(f"{name + ':':8s} test accuracy {acc[name]:.2%}, median epoch {med[name]:.2f} s")
    if "ratio" in result:
        low, high = result["ratio_spread"]
        print(f"epoch time gradcnn/torch: {result['ratio']:.2f}x (epoch pairs {low:.2f}-{high:.2f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
