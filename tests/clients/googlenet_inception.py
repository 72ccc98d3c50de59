"""GoogLeNet's Inception block (four branches concatenated along the channels) in the textbook's
form with lazy layers, a small GoogLeNet of five stages, a torchvision-style ``BasicConv2d`` with
batch norm, and a few training steps with RMSprop and a StepLR; images from NumPy."""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class Inception(nn.Module):
    # c1--c4 are the number of output channels for each branch
    def __init__(self, c1, c2, c3, c4, **kwargs):
        super(Inception, self).__init__(**kwargs)
        # Branch 1
        self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
        # Branch 2
        self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
        self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
        # Branch 3
        self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
        self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
        # Branch 4
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

    def forward(self, x):
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


class GoogleNet(nn.Module):
    def b1(self):
        return nn.Sequential(
            nn.LazyConv2d(16, kernel_size=7, stride=2, padding=3),
            nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def b2(self):
        return nn.Sequential(
            nn.LazyConv2d(16, kernel_size=1), nn.ReLU(),
            nn.LazyConv2d(24, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def b3(self):
        return nn.Sequential(Inception(8, (12, 16), (2, 4), 4),
                             Inception(16, (16, 24), (4, 12), 8),
                             nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def b4(self):
        return nn.Sequential(Inception(24, (12, 26), (2, 6), 8),
                             nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def b5(self):
        return nn.Sequential(Inception(32, (20, 40), (4, 16), 16),
                             nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())

    def __init__(self, num_classes=10):
        super(GoogleNet, self).__init__()
        self.net = nn.Sequential(self.b1(), self.b2(), self.b3(), self.b4(),
                                 self.b5(), nn.LazyLinear(num_classes))

    def forward(self, x):
        return self.net(x)


class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        return F.relu(x, inplace=True)


block = Inception(8, (4, 8), (2, 4), 4)
x = torch.zeros(2, 6, 9, 9)
print("one block:", block(x).shape, "channels", 8 + 8 + 4 + 4)

model = GoogleNet(num_classes=4)
X = torch.randn(1, 6, 48, 48)  # six channels: a stem comes first
for layer in model.net:
    X = layer(X)
    print(layer.__class__.__name__, 'output shape:\t', X.shape)
print(len(list(model.modules())), "modules,", len(list(model.children())), "child,",
      len([m for m in model.modules() if isinstance(m, Inception)]), "inception blocks")
print([name for name, _ in model.named_children()], model.net[2][0].b2_2)

rng = np.random.default_rng(2)
state = model.state_dict()
for key in state:
    fan_in = state[key][0].numel() if state[key].dim() > 1 else 1
    scale = np.sqrt(1.0 / fan_in) if state[key].dim() > 1 else 0.0
    state[key] = torch.as_tensor(rng.normal(0, scale, tuple(state[key].shape)).astype(np.float32))
model.load_state_dict(state, strict=True)

stem = BasicConv2d(1, 6, kernel_size=3, padding=1)
with torch.no_grad():
    stem.conv.weight.copy_(torch.from_numpy(rng.normal(0, 0.3, (6, 1, 3, 3)).astype(np.float32)))
net = nn.Sequential(stem, model)
print(stem)

y = torch.from_numpy(rng.integers(0, 4, 64))
X = torch.from_numpy(rng.normal(0, 1, (64, 1, 48, 48)).astype(np.float32))
X[y == 1, :, :24] += 1.0
X[y == 2, :, 24:] += 1.0
X[y == 3] *= 2.0
optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
for step in range(6):
    xb, yb = X[step % 4 * 16:(step % 4 + 1) * 16], y[step % 4 * 16:(step % 4 + 1) * 16]
    loss = F.cross_entropy(net(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"step {step}: loss {loss.item():.5f}, lr {optimizer.param_groups[0]['lr']:.6f}")
print("running mean of the stem's batch norm:", stem.bn.running_mean)
print("batches tracked:", stem.bn.num_batches_tracked.item())
net.eval()
with torch.no_grad():
    print(net(X[:4]).argmax(dim=-1), y[:4])
