"""Network in Network at a small size: ``nin_block``s of a convolution and two 1x1 convolutions,
global average pooling instead of dense layers, Adam with a cosine schedule, weights set from NumPy
through ``p.data.copy_``, gradient clipping, and a training loop over a DataLoader built on a
sampler made of a fixed permutation."""

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader, Sampler, TensorDataset


def nin_block(out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU())


class NiN(nn.Module):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nin_block(16, kernel_size=5, strides=2, padding=0),
            nn.MaxPool2d(3, stride=2),
            nin_block(24, kernel_size=3, strides=1, padding=2),
            nn.MaxPool2d(3, stride=2),
            nin_block(32, kernel_size=3, strides=1, padding=1),
            nn.MaxPool2d(3, stride=2),
            nn.Dropout(0.0),
            nin_block(num_classes, kernel_size=3, strides=1, padding=1),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten())

    def forward(self, X):
        return self.net(X)


class FixedOrder(Sampler):
    """Yields the indices of one permutation, different at every epoch but fixed by a seed."""

    def __init__(self, n, seed):
        self.n, self.rng = n, np.random.default_rng(seed)

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())

    def __len__(self):
        return self.n


model = NiN(num_classes=5)
X = torch.rand(size=(1, 1, 40, 40))
for layer in model.net:
    X = layer(X)
    print(layer.__class__.__name__, 'output shape:\t', tuple(X.shape))

rng = np.random.default_rng(11)
for name, param in model.named_parameters():
    values = rng.normal(0, np.sqrt(2.0 / param[0].numel()), param.shape) if param.dim() > 1 else np.zeros(param.shape)
    param.data.copy_(torch.from_numpy(values))  # float64 into float32, as PyTorch casts
print(next(model.parameters()).dtype, sum(p.numel() for p in model.parameters()))

n = 160
labels = rng.integers(0, 5, n)
images = rng.normal(0, 0.5, (n, 1, 40, 40))
for c in range(5):
    images[labels == c, 0, 8 * c:8 * c + 8, :] += 1.0  # a bright band whose height is the class
dataset = TensorDataset(torch.tensor(images, dtype=torch.float32), torch.tensor(labels))
loader = DataLoader(dataset, batch_size=32, sampler=FixedOrder(n, seed=5), drop_last=True)
print(len(loader), "batches of", loader.batch_size)

optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.9, 0.999), eps=1e-8)
scheduler = CosineAnnealingLR(optimizer, T_max=4 * len(loader))
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
for epoch in range(4):
    model.train()
    total, correct, seen = 0.0, 0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(yb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        seen += len(yb)
    print(f"epoch {epoch + 1} loss {total / seen:.5f} acc {correct / seen:.4f} "
          f"lr {scheduler.get_last_lr()[0]:.6f} last grad norm {float(norm):.4f}")

model.eval()
with torch.no_grad():
    probs = torch.softmax(model(dataset.tensors[0][:6]), dim=1)
print(probs.argmax(1).tolist(), dataset.tensors[1][:6].tolist())
print(probs.max(dim=1).values)
print(optimizer.state_dict()["param_groups"][0]["lr"] == scheduler.get_last_lr()[0],
      sorted(optimizer.state_dict()["state"][0].keys()))
