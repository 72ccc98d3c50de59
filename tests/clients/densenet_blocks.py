"""DenseNet: the textbook's ``conv_block`` (BN-ReLU-conv), ``DenseBlock`` that concatenates every
block's output onto its input along the channels, ``transition_block`` (1x1 conv and average
pooling), a small DenseNet with lazy layers; AdamW with a warm-up then cosine schedule, and
gradients checked against a hand-written loss of the same numbers. Convolutions feeding batch
norm have no bias, as in torchvision: the gradient of such a bias is rounding noise, which Adam
would scale up into updates that differ between any two libraries."""

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR


def conv_block(num_channels):
    return nn.Sequential(
        nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.LazyConv2d(num_channels, kernel_size=3, padding=1, bias=False))


class DenseBlock(nn.Module):
    def __init__(self, num_convs, num_channels):
        super(DenseBlock, self).__init__()
        layer = []
        for i in range(num_convs):
            layer.append(conv_block(num_channels))
        self.net = nn.Sequential(*layer)

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            # Concatenate input and output of each block along the channels
            X = torch.cat((X, Y), dim=1)
        return X


def transition_block(num_channels):
    return nn.Sequential(
        nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.LazyConv2d(num_channels, kernel_size=1, bias=False),
        nn.AvgPool2d(kernel_size=2, stride=2))


blk = DenseBlock(2, 10)
X = torch.randn(4, 3, 8, 8)
Y = blk(X)
print(Y.shape)
blk = transition_block(10)
print(blk(Y).shape)


class DenseNet(nn.Module):
    def b1(self):
        return nn.Sequential(
            nn.LazyConv2d(16, kernel_size=3, padding=1, bias=False),
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def __init__(self, num_channels=16, growth_rate=8, arch=(2, 2, 2), num_classes=10):
        super(DenseNet, self).__init__()
        self.net = nn.Sequential(self.b1())
        for i, num_convs in enumerate(arch):
            self.net.add_module(f'dense_blk{i+1}', DenseBlock(num_convs, growth_rate))
            # The number of output channels in the previous dense block
            num_channels += num_convs * growth_rate
            # A transition layer that halves the number of channels is added
            # between the dense blocks
            if i != len(arch) - 1:
                num_channels //= 2
                self.net.add_module(f'tran_blk{i+1}', transition_block(num_channels))
        self.net.add_module('last', nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
            nn.LazyLinear(num_classes)))

    def forward(self, x):
        return self.net(x)


model = DenseNet(num_classes=3)
X = torch.zeros(2, 1, 16, 16)
for name, layer in model.net.named_children():
    X = layer(X)
    print(f"{name:>10}: {tuple(X.shape)}")
print(model.net.dense_blk1.net[0][0])
print(model.get_submodule("net.tran_blk1.2"))

rng = np.random.default_rng(21)
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            p.copy_(torch.tensor(rng.normal(0, 1 / np.sqrt(p[0].numel()), p.shape), dtype=p.dtype))
        elif "bias" in name:
            p.zero_()
        else:
            p.fill_(1.0)
for m in model.modules():  # the shape-finding forward above moved them with the old weights
    if isinstance(m, nn.BatchNorm2d):
        m.reset_running_stats()

labels = rng.integers(0, 3, 60)
images = rng.normal(0, 1, (60, 1, 16, 16)).astype(np.float32)
images[labels == 0, :, ::2] *= 0.2    # class 0: every other row quiet
images[labels == 1, :, :, ::2] *= 0.2  # class 1: every other column quiet
X, y = torch.from_numpy(images), torch.from_numpy(labels)

optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
warmup = LinearLR(optimizer, start_factor=0.1, total_iters=3)
cosine = CosineAnnealingLR(optimizer, T_max=9, eta_min=1e-4)
scheduler = SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[3])
criterion = nn.CrossEntropyLoss(reduction="sum")
for step in range(12):
    idx = slice(step % 3 * 20, step % 3 * 20 + 20)
    optimizer.zero_grad()
    logits = model(X[idx])
    loss = criterion(logits, y[idx]) / 20
    loss.backward()
    if step == 0:
        # The same loss written out by hand gives the same gradient of the logits.
        z = logits.detach().requires_grad_()
        manual = -(z.log_softmax(dim=1).gather(1, y[idx].unsqueeze(1))).sum() / 20
        manual.backward()
        print(f"hand-written loss {manual.item():.6f} vs module {loss.item():.6f}",
              f"{torch.allclose(z.grad, torch.softmax(z, 1) / 20 - torch.nn.functional.one_hot(y[idx], 3) / 20, atol=1e-6)}")
    optimizer.step()
    scheduler.step()
    print(f"step {step:2d} loss {loss.item():.5f} lr {scheduler.get_last_lr()[0]:.6f}")

model.eval()
with torch.no_grad():
    pred = model(X).argmax(1)
print("train accuracy", (pred == y).float().mean().item(), "per class", [int((pred[y == c] == c).sum()) for c in range(3)])
print(model.net.last[0].running_mean[:4], model.net.last[0].running_var[:4])
