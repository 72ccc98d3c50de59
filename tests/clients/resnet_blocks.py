"""ResNet: the textbook's ``Residual`` block with lazy layers and its 1x1 shortcut, a small
ResNet-18-like network, torchvision's ``BasicBlock`` with ``downsample``, ``kaiming_normal_``
through ``model.apply``, fine-tuning with frozen parameters and a replaced head, a OneCycleLR
schedule and a full training checkpoint (model, optimizer, scheduler, epoch) saved and resumed."""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    """The Residual block of ResNet models."""
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1,
                                   stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1,
                                       stride=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


blk = Residual(3)
X = torch.randn(4, 3, 6, 6)
print(blk(X).shape)
blk = Residual(6, use_1x1conv=True, strides=2)
print(blk(X).shape)


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=10, width=8):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(1, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 2 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


def numpy_init(model, seed):
    """The same starting weights in every library: conv and linear weights from NumPy."""
    rng = np.random.default_rng(seed)

    def init(m):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = rng.normal(0.0, np.sqrt(2.0 / m.weight[0].numel()), tuple(m.weight.shape))
            m.weight.data = torch.tensor(w, dtype=torch.float32)
            if m.bias is not None:
                m.bias.data.zero_()
    model.apply(init)


model = ResNet(BasicBlock, [2, 2], num_classes=10)
w = model.conv1.weight
print("kaiming fan_out std close:", abs(w.std().item() / np.sqrt(2.0 / (w.size(0) * 9)) - 1) < 0.3)
numpy_init(model, seed=4)
print(model.layer2[0])
print(sum(p.numel() for p in model.parameters()), "parameters,", len(model.state_dict()), "state entries")

rng = np.random.default_rng(8)
labels = rng.integers(0, 10, 96)
images = rng.normal(0, 1, (96, 1, 12, 12)).astype(np.float32)
images[np.arange(96), 0, labels, labels] += 4.0  # a bright pixel on the diagonal gives the class
X, y = torch.from_numpy(images), torch.from_numpy(labels)

epochs, batch = 3, 24
steps = epochs * (len(X) // batch)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=steps)


def run_epoch(epoch):
    model.train()
    losses = []
    for i in range(0, len(X), batch):
        out = model(X[i:i + batch])
        loss = F.cross_entropy(out, y[i:i + batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    print(f"epoch {epoch}: mean loss {np.mean(losses):.5f}, lr {scheduler.get_last_lr()[0]:.6f}, "
          f"momentum {optimizer.param_groups[0]['momentum']:.4f}")


run_epoch(1)
run_epoch(2)
torch.save({"epoch": 2, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(),
            "scheduler_state_dict": scheduler.state_dict()}, "checkpoint.pt")
run_epoch(3)
final = {k: v.clone() for k, v in model.state_dict().items()}

# Resume from the checkpoint: the third epoch again must give the same numbers.
model = ResNet(BasicBlock, [2, 2], num_classes=10)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=steps)
checkpoint = torch.load("checkpoint.pt", weights_only=True)
model.load_state_dict(checkpoint["model_state_dict"])
optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
print("resumed after epoch", checkpoint["epoch"])
run_epoch(3)
print("same weights after resuming:",
      all(torch.allclose(final[k].float(), v.float(), atol=1e-6) for k, v in model.state_dict().items()))
print(model.bn1.running_var, model.layer1[0].bn1.num_batches_tracked)

# Fine-tuning: freeze everything, replace the head.
for param in model.parameters():
    param.requires_grad = False
model.fc = nn.Linear(model.fc.in_features, 4)
with torch.no_grad():
    model.fc.weight.copy_(torch.tensor(rng.normal(0, 0.1, (4, 16)), dtype=torch.float32))
    model.fc.bias.zero_()
params_to_update = [p for p in model.parameters() if p.requires_grad]
print(len(params_to_update), "tensors to train:", [n for n, p in model.named_parameters() if p.requires_grad])
ft = torch.optim.Adam(params_to_update, lr=1e-2)
for step in range(3):
    loss = F.cross_entropy(model(X[:32]), y[:32] % 4)
    ft.zero_grad()
    loss.backward()
    ft.step()
    print(f"fine-tune step {step}: {loss.item():.5f}", model.conv1.weight.grad is None)
model.eval()
with torch.no_grad():
    print(F.softmax(model(X[:3]), dim=1))
