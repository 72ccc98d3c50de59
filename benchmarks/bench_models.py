"""Whole-model training steps on the CPU: gradcnn against a torch.nn twin of the same network, same process.

    python benchmarks/bench_models.py [--rounds 7] [--only lenet5,resnet18] [--json results.json]

Workloads, float32, train mode, all with ``num_classes=10`` (so the last layer is not what is timed)
and batches small enough for a laptop:

=============  ============  ============  =================================================================
workload       model         batch         why this input
=============  ============  ============  =================================================================
lenet5         lenet5        64x1x32x32    its native input, a usual MNIST batch
lenet5_b256    lenet5        256x1x32x32   the same network where arithmetic, not dispatch, dominates
alexnet        alexnet       8x3x64x64     a small input its ceil-mode pools allow (see alexnet.py)
vgg11          vgg11         4x3x64x64     103M of its 129M weights are in the 25088x4096 layer
resnet18       resnet18      8x3x64x64     as CIFAR-scale ImageNet crops
densenet121    densenet121   4x3x64x64     deep and narrow: per-layer overhead shows
googlenet      googlenet     4x3x64x64     branches and concatenations
=============  ============  ============  =================================================================

A step is what a training loop does: clear the gradients, forward, ``cross_entropy`` against fixed
labels, backward, and an SGD step (lr 0.01, momentum 0.9). The gradcnn models come from
``gradcnn.create_model``; a name no plugin registers is skipped with a message. The torch twins are
written below with torch.nn only, with the same module names, and get the gradcnn model's weights
through ``state_dict``; before timing, both run the same input in eval mode (dropout off, batch
norm on the running statistics) and the largest difference of the logits is shown, so a twin that
drifted from the gradcnn architecture is seen at once.

Method: two warm-up steps per library, then ``--rounds`` rounds; a round times one sample of each
library back to back (the order alternates from round to round), a sample being enough steps to
last ``--sample-s`` (at least one), after a quarter of a second of idleness (so that the threads
the other library left spinning are asleep) and one untimed step (which wakes the library's own). On a shared machine the load changes from second to
second; interleaving puts both libraries under the same load. Reported: each library's median step time
and their ratio (gradcnn over torch: how many times longer gradcnn takes), with the ratio's spread
as the lowest and highest ratio of the round-by-round samples. Threads are reported, not set,
unless ``--threads N`` sets them for both libraries (and NumPy's BLAS); ``--clock cpu`` times with
the process's CPU time instead of the wall clock (with one thread, the work each library does,
which other load on a shared machine moves far less than it moves wall time).
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections import OrderedDict

import numpy as np

import gradcnn
import gradcnn.functional as gF
from gradcnn.errors import UnknownNameError

NUM_CLASSES = 10
LR, MOMENTUM = 0.01, 0.9
WORKLOADS = {  # workload: (model, batch shape)
    "lenet5": ("lenet5", (64, 1, 32, 32)),
    "lenet5_b256": ("lenet5", (256, 1, 32, 32)),
    "alexnet": ("alexnet", (8, 3, 64, 64)),
    "vgg11": ("vgg11", (4, 3, 64, 64)),
    "resnet18": ("resnet18", (8, 3, 64, 64)),
    "densenet121": ("densenet121", (4, 3, 64, 64)),
    "googlenet": ("googlenet", (4, 3, 64, 64)),
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

    class DenseLayer(nn.Module):
        def __init__(self, num_input_features, growth_rate, bn_size):
            super().__init__()
            self.norm1 = nn.BatchNorm2d(num_input_features)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
            self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

        def forward(self, features):
            x = torch.cat(features, 1) if len(features) > 1 else features[0]
            x = self.conv1(self.relu1(self.norm1(x)))
            return self.conv2(self.relu2(self.norm2(x)))

    class DenseBlock(nn.ModuleDict):
        def __init__(self, num_layers, num_input_features, bn_size, growth_rate):
            super().__init__()
            for i in range(num_layers):
                self.add_module(f"denselayer{i + 1}",
                                DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size))

        def forward(self, x):
            features = [x]
            for layer in self.values():
                features.append(layer(features))
            return torch.cat(features, 1)

    class Transition(nn.Sequential):
        def __init__(self, num_input_features, num_output_features):
            super().__init__()
            self.norm = nn.BatchNorm2d(num_input_features)
            self.relu = nn.ReLU(inplace=True)
            self.conv = nn.Conv2d(num_input_features, num_output_features, 1, bias=False)
            self.pool = nn.AvgPool2d(2, 2)

    class DenseNet121(nn.Module):
        def __init__(self, num_classes, growth_rate=32, block_config=(6, 12, 24, 16), num_init=64, bn_size=4):
            super().__init__()
            self.features = nn.Sequential(OrderedDict([
                ("conv0", nn.Conv2d(3, num_init, 7, 2, 3, bias=False)), ("norm0", nn.BatchNorm2d(num_init)),
                ("relu0", nn.ReLU(inplace=True)), ("pool0", nn.MaxPool2d(3, 2, 1))]))
            features = num_init
            for i, layers in enumerate(block_config):
                self.features.add_module(f"denseblock{i + 1}", DenseBlock(layers, features, bn_size, growth_rate))
                features += layers * growth_rate
                if i != len(block_config) - 1:
                    self.features.add_module(f"transition{i + 1}", Transition(features, features // 2))
                    features //= 2
            self.features.add_module("norm5", nn.BatchNorm2d(features))
            self.classifier = nn.Linear(features, num_classes)

        def forward(self, x):
            x = torch.relu(self.features(x))
            return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, (1, 1)), 1))

    class BasicConv2d(nn.Module):
        def __init__(self, in_channels, out_channels, **kwargs):
            super().__init__()
            self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
            self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x)))

    class Inception(nn.Module):
        def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
            super().__init__()
            self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
            self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                         BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
            self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                         BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
            self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                         BasicConv2d(in_channels, pool_proj, kernel_size=1))

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)

    class GoogLeNet(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.conv2 = BasicConv2d(64, 64, kernel_size=1)
            self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
            self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
            self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
            self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
            self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
            self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
            self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
            self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
            self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
            self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
            self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.dropout = nn.Dropout(p=0.2)
            self.fc = nn.Linear(1024, num_classes)

        def forward(self, x):
            x = self.maxpool1(self.conv1(x))
            x = self.maxpool2(self.conv3(self.conv2(x)))
            x = self.maxpool3(self.inception3b(self.inception3a(x)))
            x = self.inception4d(self.inception4c(self.inception4b(self.inception4a(x))))
            x = self.maxpool4(self.inception4e(x))
            x = self.inception5b(self.inception5a(x))
            return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))

    return {"lenet5": lenet5, "alexnet": alexnet, "vgg11": vgg11, "resnet18": ResNet18,
            "densenet121": DenseNet121, "googlenet": GoogLeNet}


# -- one step -----------------------------------------------------------------------------------


def gradcnn_step(model, x, y):
    xt, yt = gradcnn.tensor(x), gradcnn.tensor(y)
    opt = gradcnn.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        opt.zero_grad()
        loss = gF.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def torch_step(model, x, y):
    import torch
    import torch.nn.functional as tF

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = tF.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def _sample(step, k):
    start = _clock()
    for _ in range(k):
        step()
    return (_clock() - start) / k


def use_threads(n):
    """Run both libraries on ``n`` threads: gradcnn's workers, torch's intra-op pool, and NumPy's
    BLAS (held there for the rest of the process)."""
    from threadpoolctl import threadpool_limits

    gradcnn.backends.cpu.set_num_threads(n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    return threadpool_limits(n, user_api="blas")


#: Seconds of idleness before each sample: the threads of the library timed before (OpenMP's,
#: OpenBLAS's) spin for a while after their last task, and would take a core from the next sample.
SETTLE_S = 0.25


def interleaved(steps, rounds, sample_s, settle_s=SETTLE_S):
    """``{name: [seconds per step, one per round]}`` for the ``steps`` (name -> step), timed in
    alternating order round after round after two warm-up steps each (kernel compilation,
    workspaces, the allocator, optimizer buffers)."""
    names = list(steps)
    per_step = {}
    for name in names:
        steps[name]()
        per_step[name] = _sample(steps[name], 1)
    calls = {name: max(1, round(sample_s / max(t, 1e-9))) for name, t in per_step.items()}
    samples = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            time.sleep(settle_s)
            steps[name]()  # untimed: wakes this library's own threads after the idle time
            samples[name].append(_sample(steps[name], calls[name]))
    return samples


def bench_one(workload, rounds, twins, sample_s=0.3):
    """One row: the gradcnn median and, where a twin exists, torch's, their ratio and its spread."""
    name, shape = WORKLOADS[workload]
    try:
        gradcnn.manual_seed(0)
        model = gradcnn.create_model(name, num_classes=NUM_CLASSES)
    except UnknownNameError:
        print(f"{name}: not registered (yet); skipped", file=sys.stderr)
        return None
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = (np.arange(shape[0]) % NUM_CLASSES).astype(np.int64)
    row = {"workload": workload, "model": name, "batch": "x".join(map(str, shape)),
           "params": sum(p.numel() for p in model.parameters()), "torch_ms": None, "max_diff": None,
           "ratio": None, "ratio_low": None, "ratio_high": None}
    steps = {"gradcnn": gradcnn_step(model, x, y)}
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
        steps["torch"] = torch_step(twin, x, y)
    samples = interleaved(steps, rounds, sample_s)
    row["gradcnn_ms"] = 1000 * statistics.median(samples["gradcnn"])
    if "torch" in samples:
        row["torch_ms"] = 1000 * statistics.median(samples["torch"])
        row["ratio"] = row["gradcnn_ms"] / row["torch_ms"]
        ratios = [g / t for g, t in zip(samples["gradcnn"], samples["torch"])]
        row["ratio_low"], row["ratio_high"] = min(ratios), max(ratios)
    row["samples_ms"] = {k: [1000 * s for s in v] for k, v in samples.items()}
    return row


def run(names, rounds=7, twins=None, sample_s=0.3):
    """Benchmark ``names`` (keys of WORKLOADS); returns the rows of those that are registered."""
    twins = torch_twins() if twins is None else twins
    rows = []
    for name in names:
        row = bench_one(name, rounds, twins, sample_s)
        if row is not None:
            rows.append(row)
    return rows


def format_table(rows):
    header = ("workload", "batch", "params", "gradcnn ms", "torch ms", "ratio", "round ratios", "max |logit diff|")
    lines = [(r["workload"], r["batch"], f"{r['params']:,}", f"{r['gradcnn_ms']:.1f}",
              "-" if r["torch_ms"] is None else f"{r['torch_ms']:.1f}",
              "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
              "-" if r["ratio"] is None else f"{r['ratio_low']:.2f}-{r['ratio_high']:.2f}",
              "-" if r["max_diff"] is None else f"{r['max_diff']:.1e}") for r in rows]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    fmt = lambda row: "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))  # noqa: E731
    return "\n".join([fmt(header), *map(fmt, lines)])


def environment(rounds):
    try:
        import torch

        torch_part = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_part = "torch not importable: torch columns are '-'"
    from gradcnn.backends import cpu

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"gradcnn {gradcnn.__version__} ({cpu.num_threads()} worker threads), numpy {np.__version__}, "
            f"{torch_part}; cpu_count {os.cpu_count()}, load average {load}\n"
            f"float32, train mode, num_classes {NUM_CLASSES}, SGD lr {LR} momentum {MOMENTUM}; "
            f"median of {rounds} interleaved rounds after two warm-up steps")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per workload (default 7)")
    parser.add_argument("--sample-s", type=float, default=0.3, help="seconds per sample (default 0.3)")
    parser.add_argument("--only", help="comma-separated workloads (default: all of " + ", ".join(WORKLOADS) + ")")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--threads", type=int, help="threads for both libraries (default: each library's own)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time (default), or the process's CPU time: with --threads 1, the work "
                             "each library does, little moved by other load on a shared machine")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    limits = use_threads(args.threads) if args.threads else None  # noqa: F841 (kept for the process)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"--only: no workload {', '.join(unknown)}; the workloads: {', '.join(WORKLOADS)}")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    print(environment(args.rounds), flush=True)
    if args.threads or args.clock != "wall":
        print(f"threads: {args.threads or 'defaults'}; clock: {args.clock}", flush=True)
    rows = run(names, args.rounds, sample_s=args.sample_s)
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
