"""AlexNet at a small size: the layer stack with lazy layers and a layer-by-layer shape table,
dropout's training and evaluation behaviour, weights from NumPy, and a few SGD steps with
momentum and weight decay; a torchvision-style class with ``features``/``avgpool``/``classifier``."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 10, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 12, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(12, 32, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(32, 48, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(48, 32, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(64, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


# The textbook's version: lazy layers, shapes printed layer by layer.
net = nn.Sequential(
    nn.LazyConv2d(12, kernel_size=11, stride=4, padding=1),
    nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
    nn.LazyConv2d(32, kernel_size=5, padding=2), nn.ReLU(),
    nn.MaxPool2d(kernel_size=3, stride=2),
    nn.LazyConv2d(48, kernel_size=3, padding=1), nn.ReLU(),
    nn.LazyConv2d(48, kernel_size=3, padding=1), nn.ReLU(),
    nn.LazyConv2d(32, kernel_size=3, padding=1), nn.ReLU(),
    nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
    nn.LazyLinear(64), nn.ReLU(), nn.Dropout(p=0.5),
    nn.LazyLinear(64), nn.ReLU(), nn.Dropout(p=0.5),
    nn.LazyLinear(10))
X = torch.randn(1, 1, 67, 67)
for layer in net:
    X = layer(X)
    print(layer.__class__.__name__, 'output shape:\t', X.shape)

# Dropout: identity in eval mode; in training, zeros and survivors scaled by 1 / (1 - p).
drop = nn.Dropout(p=0.5)
ones = torch.ones(100, 100)
out = drop(ones)
print(drop.training, f"zeros about half: {abs((out == 0).float().mean().item() - 0.5) < 0.05}",
      "survivors:", sorted(set(out.unique().tolist())))
drop.eval()
print(drop.training, torch.equal(drop(ones), ones))
print(F.dropout(ones, p=0.5, training=False).sum().item())

model = AlexNet(num_classes=10, dropout=0.0)  # no masks: the two libraries draw them differently
print(model)
rng = np.random.default_rng(3)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            p.copy_(torch.from_numpy(rng.normal(0, np.sqrt(1.0 / p[0].numel()), tuple(p.shape)).astype(np.float32)))
        else:
            p.fill_(0.01)
print(sum(p.numel() for p in model.parameters()), "parameters in", len(list(model.parameters())), "tensors")

images = torch.tensor(rng.normal(0, 1, (48, 1, 67, 67)), dtype=torch.float32)
labels = torch.tensor(rng.integers(0, 10, 48), dtype=torch.int64)
images[labels % 2 == 0, :, :20] += 1.0  # something to learn: even classes are brighter at the top

criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
for step in range(6):
    batch = slice((step % 3) * 16, (step % 3) * 16 + 16)
    optimizer.zero_grad()
    outputs = model(images[batch])
    loss = criterion(outputs, labels[batch])
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item():.5f} grad norm {model.features[0].weight.grad.norm():.5f}")

model.eval()
with torch.no_grad():
    outputs = model(images)
    _, predicted = torch.max(outputs.data, 1)
    print(predicted.shape, predicted.dtype, f"train accuracy {(predicted == labels).sum().item() / labels.size(0):.4f}")
    print(F.softmax(outputs[:2], dim=1).sum(dim=1))
