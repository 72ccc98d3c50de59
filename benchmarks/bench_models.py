"""Whole-model training steps on the CPU: gradcnn against a torch.nn twin of the same network, same process.

    python benchmarks/bench_models.py [--repeat 5] [--only lenet5,resnet18] [--json results.json]

Workloads, float32, train mode, all with ``num_classes=10`` (so the last layer is not what is timed)
and batches small enough for a laptop:

=============  ============  =================================================================
model          batch         why this input
=============  ============  =================================================================
lenet5         64x1x32x32    its native input, a usual MNIST batch
alexnet        8x3x64x64     a small input its ceil-mode pools allow (see alexnet.py)
vgg11          4x3x64x64     103M of its 129M weights are in the 25088x4096 layer
resnet18       8x3x64x64     as CIFAR-scale ImageNet crops
densenet121    4x3x64x64     deep and narrow: per-layer overhead shows
googlenet      4x3x64x64     branches and concatenations
=============  ============  =================================================================

A step is: clear the gradients, forward, ``cross_entropy`` against fixed labels, backward. The
gradcnn models come from ``gradcnn.create_model``; a name no plugin registers is skipped with a
message. The torch twins (lenet5, alexnet, vgg11, resnet18; ``-`` for the others) are written
below with torch.nn only, with the same module names, and get the gradcnn model's weights through
``state_dict``; before timing, both run the same input in eval mode (dropout off, batch norm on the
running statistics) and the largest difference of the logits is shown, so a twin that drifted
from the gradcnn architecture is seen at once.

Method: one warm-up step per library and model, then the median of ``--repeat`` timed steps
(each step is long enough, 5 ms to seconds, to time on its own). The ratio is gradcnn's median
over torch's: how many times longer gradcnn takes. Threads are reported, not set.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

import gradcnn
import gradcnn.functional as gF
from gradcnn.errors import UnknownNameError

NUM_CLASSES = 10
WORKLOADS = {  # name: batch shape
    "lenet5": (64, 1, 32, 32),
    "alexnet": (8, 3, 64, 64),
    "vgg11": (4, 3, 64, 64),
    "resnet18": (8, 3, 64, 64),
    "densenet121": (4, 3, 64, 64),
    "googlenet": (4, 3, 64, 64),
}


# -- torch twins --------------------------------------------------------------------------------


def torch_twins():
    """``{name: builder(num_classes)}`` of torch.nn networks built like gradcnn's, or ``{}``
    without torch."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return {}

    class Flat(nn.Module):
        def __init__(self, features, avgpool, classifier):
            super().__init__()
            self.features, self.avgpool, self.classifier = features, avgpool, classifier

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    def lenet5(num_classes):
        features = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        classifier = nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                   nn.Linear(84, num_classes))
        return Flat(features, nn.Identity(), classifier)

    def alexnet(num_classes):
        def pool():
            return nn.MaxPool2d(3, 2, ceil_mode=True)

        features = nn.Sequential(
            nn.Conv2d(3, 96, 11, 4), nn.ReLU(), pool(), nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), pool(),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), pool())
        classifier = nn.Sequential(nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(),
                                   nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes))
        return Flat(features, nn.AdaptiveAvgPool2d((6, 6)), classifier)

    def vgg11(num_classes):
        layers, channels = [], 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU()]
                channels = v
        classifier = nn.Sequential(nn.Linear(25088, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096),
                                   nn.ReLU(), nn.Dropout(), nn.Linear(4096, num_classes))
        return Flat(nn.Sequential(*layers), nn.AdaptiveAvgPool2d((7, 7)), classifier)

    class BasicBlock(nn.Module):
        def __init__(self, inplanes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                nn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    class ResNet18(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            planes = [64, 64, 128, 256, 512]
            for i in range(1, 5):
                stride = 1 if i == 1 else 2
                blocks = [BasicBlock(planes[i - 1], planes[i], stride), BasicBlock(planes[i], planes[i], 1)]
                setattr(self, f"layer{i}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return {"lenet5": lenet5, "alexnet": alexnet, "vgg11": vgg11, "resnet18": ResNet18}


# -- one step -----------------------------------------------------------------------------------


def gradcnn_step(model, x, y):
    xt, yt = gradcnn.tensor(x), gradcnn.tensor(y)

    def step():
        model.zero_grad()
        loss = gF.cross_entropy(model(xt), yt)
        loss.backward()
        return loss

    return step


def torch_step(model, x, y):
    import torch
    import torch.nn.functional as tF

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        model.zero_grad(set_to_none=True)
        loss = tF.cross_entropy(model(xt), yt)
        loss.backward()
        return loss

    return step


def median_ms(step, repeat):
    step()  # warm-up: kernel compilation, workspaces, allocator
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return 1000 * statistics.median(samples)


def bench_one(name, shape, repeat, twins):
    """One row: the gradcnn median and, where a twin exists, torch's and their ratio."""
    try:
        gradcnn.manual_seed(0)
        model = gradcnn.create_model(name, num_classes=NUM_CLASSES)
    except UnknownNameError:
        print(f"{name}: not registered (yet); skipped", file=sys.stderr)
        return None
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = (np.arange(shape[0]) % NUM_CLASSES).astype(np.int64)
    row = {"model": name, "batch": "x".join(map(str, shape)),
           "params": sum(p.numel() for p in model.parameters()), "torch_ms": None, "max_diff": None}
    if name in twins:
        import torch

        twin = twins[name](NUM_CLASSES)
        twin.load_state_dict({k: torch.from_numpy(np.array(v.detach().numpy())) for k, v in model.state_dict().items()})
        model.eval()
        twin.eval()
        with gradcnn.no_grad(), torch.no_grad():
            ours, theirs = model(gradcnn.tensor(x[:2])).numpy(), twin(torch.from_numpy(x[:2])).numpy()
        row["max_diff"] = float(np.abs(ours - theirs).max())
        model.train()
        twin.train()
        row["torch_ms"] = median_ms(torch_step(twin, x, y), repeat)
    row["gradcnn_ms"] = median_ms(gradcnn_step(model, x, y), repeat)
    row["ratio"] = row["gradcnn_ms"] / row["torch_ms"] if row["torch_ms"] else None
    return row


def run(names, repeat=5, twins=None):
    """Benchmark ``names`` (keys of WORKLOADS); returns the rows of those that are registered."""
    twins = torch_twins() if twins is None else twins
    rows = []
    for name in names:
        row = bench_one(name, WORKLOADS[name], repeat, twins)
        if row is not None:
            rows.append(row)
    return rows


def format_table(rows):
    header = ("model", "batch", "params", "gradcnn ms", "torch ms", "ratio", "max |logit diff|")
    lines = [(r["model"], r["batch"], f"{r['params']:,}", f"{r['gradcnn_ms']:.1f}",
              "-" if r["torch_ms"] is None else f"{r['torch_ms']:.1f}",
              "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
              "-" if r["max_diff"] is None else f"{r['max_diff']:.1e}") for r in rows]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    fmt = lambda row: "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))  # noqa: E731
    return "\n".join([fmt(header), *map(fmt, lines)])


def environment(repeat):
    try:
        import torch

        torch_part = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_part = "torch not importable: torch columns are '-'"
    from gradcnn.backends import cpu

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"gradcnn {gradcnn.__version__} ({cpu.num_threads()} worker threads), numpy {np.__version__}, "
            f"{torch_part}; cpu_count {os.cpu_count()}, load average {load}\n"
            f"float32, train mode, num_classes {NUM_CLASSES}; median of {repeat} steps after one warm-up step")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed steps per model and library (default 5)")
    parser.add_argument("--only", help="comma-separated model names (default: all of " + ", ".join(WORKLOADS) + ")")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"--only: no workload {', '.join(unknown)}; the workloads: {', '.join(WORKLOADS)}")
    print(environment(args.repeat))
    rows = run(names, args.repeat)
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
