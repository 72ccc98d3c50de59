"""A convolutional autoencoder on the digits: strided convolutions down, ``ConvTranspose2d`` and
``nn.Upsample`` up, sigmoid output with ``MSELoss`` and ``BCELoss``, Adam with
``ReduceLROnPlateau``, a DataLoader with two worker processes (hence the ``__main__`` guard); then the things people do with a trained CNN: a forward hook that keeps a
feature map, a saliency map from ``torch.autograd.grad``, ``@torch.no_grad()`` inference and
``.detach().cpu().numpy()`` to get the numbers out."""

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, Subset, TensorDataset


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1),   # 8x8 -> 4x4
            nn.ReLU(True),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),  # 4x4 -> 2x2
            nn.ReLU(True),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(16, 8, 2, stride=2),    # 2x2 -> 4x4
            nn.ReLU(True),
            nn.Upsample(scale_factor=2, mode="nearest"),  # 4x4 -> 8x8
            nn.Conv2d(8, 1, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


def main():
    # The loader's workers start by importing this file: the work must sit behind the guard below.
    images, labels = load_digits(return_X_y=True)
    images = torch.tensor(images.reshape(-1, 1, 8, 8) / 16.0, dtype=torch.float32)
    dataset = TensorDataset(images, torch.tensor(labels))
    order = np.random.default_rng(0).permutation(len(dataset))
    train_set, val_set = Subset(dataset, order[:256].tolist()), Subset(dataset, order[256:384].tolist())
    train_loader = DataLoader(train_set, batch_size=32, shuffle=False, num_workers=2, persistent_workers=True)
    val_loader = DataLoader(val_set, batch_size=64)
    print(len(train_set), len(val_set), train_set[0][0].shape, train_set[0][1])

    model = AutoEncoder()
    rng = np.random.default_rng(1)
    state = model.state_dict()
    model.load_state_dict({k: torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(v.shape)).astype(np.float32) /
                                               np.sqrt(v[0].numel() if v.dim() > 1 else 4))
                           for k, v in state.items()})
    print(model)
    print(model.decoder[0].weight.shape, "(in, out, kh, kw) for a transposed convolution")

    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=0)

    @torch.no_grad()
    def validate():
        model.eval()
        total = 0.0
        for x, _ in val_loader:
            total += criterion(model(x), x).item() * x.size(0)
        return total / len(val_set)

    for epoch in range(5):
        model.train()
        train_loss = 0.0
        for x, _ in train_loader:
            recon = model(x)
            loss = criterion(recon, x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_loss += loss.item() * x.size(0)
        val_loss = validate()
        scheduler.step(val_loss)
        print(f"epoch {epoch + 1}: train {train_loss / len(train_set):.5f} val {val_loss:.5f} "
              f"lr {optimizer.param_groups[0]['lr']:.5f}")

    bce = nn.BCELoss()
    x = images[order[:16]]
    print(f"BCE of the reconstruction {bce(model(x), x).item():.5f}, "
          f"of a constant 0.5 {bce(torch.full_like(x, 0.5), x).item():.5f}")

    # A forward hook keeps the code of every input.
    codes = {}

    def keep(name):
        def hook(module, inputs, output):
            codes[name] = output.detach()
        return hook

    handle = model.encoder.register_forward_hook(keep("encoder"))
    model.eval()
    with torch.no_grad():
        model(x)
    handle.remove()
    print(codes["encoder"].shape, f"{codes['encoder'].mean().item():.5f}", f"{(codes['encoder'] > 0).float().mean():.4f}")
    model(x)
    print(len(codes), "code kept (the hook was removed)")

    # A saliency map: the gradient of the reconstruction error with respect to the input pixels.
    x = x.clone().requires_grad_(True)
    err = ((model(x) - x.detach()) ** 2).sum()
    (saliency,) = torch.autograd.grad(err, x)
    print(saliency.shape, saliency.abs().max(dim=-1).values.max(dim=-1).values.squeeze()[:5])
    print(x.grad is None, saliency.requires_grad)

    recon = model(images[:2]).detach().cpu().numpy()
    print(type(recon).__name__, recon.dtype, recon.shape, [round(float(v), 3) for v in recon[0, 0, 3]])


if __name__ == "__main__":
    main()
