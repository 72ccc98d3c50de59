"""LeNet the way a textbook writes it: lazy layers sized by a dummy forward, a layer-by-layer
shape summary, initialisation through ``apply``, and a training loop with an evaluation in
``eval()`` mode under ``no_grad``; on the digits upsampled to 16x16. ReLU and max pooling instead
of sigmoids and averages (the chapter's exercise): the sigmoid net needs far more steps to start."""

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def init_cnn(module):
    """Initialize weights for CNNs."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:
        nn.init.xavier_uniform_(module.weight)


class LeNet(nn.Module):
    """The LeNet-5 model."""
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.LazyLinear(120), nn.ReLU(),
            nn.LazyLinear(84), nn.ReLU(),
            nn.LazyLinear(num_classes))

    def forward(self, X):
        return self.net(X)

    def layer_summary(self, X_shape):
        X = torch.randn(*X_shape)
        for layer in self.net:
            X = layer(X)
            print(layer.__class__.__name__, 'output shape:\t', X.shape)

    def apply_init(self, inputs, init=None):
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


model = LeNet()
print("uninitialized:", sum(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters()))
model.layer_summary((1, 1, 16, 16))
model.apply_init([torch.zeros(1, 1, 16, 16)], init_cnn)
print(model)

# xavier_uniform_ drew from the library's generator: check its bound, then start both libraries
# from the same NumPy weights.
w = model.net[0].weight
bound = float(np.sqrt(6.0 / (w.shape[1] * 25 + w.shape[0] * 25)))
print(f"xavier bound respected: {bool(w.abs().max() <= bound)}")
rng = np.random.default_rng(7)
state = {}
for k, v in model.state_dict().items():
    if v.dim() > 1:  # Xavier's bound from the weight's fans
        limit = np.sqrt(6.0 / (v[0].numel() + v[:, 0].numel()))
        state[k] = torch.tensor(rng.uniform(-limit, limit, v.shape), dtype=torch.float32)
    else:
        state[k] = torch.zeros_like(v)
print(model.load_state_dict(state))
print([(k, tuple(v.shape)) for k, v in model.state_dict().items()])
print(sum(p.numel() for p in model.parameters() if p.requires_grad), "parameters")

images, labels = load_digits(return_X_y=True)
images = (np.kron(images.reshape(-1, 8, 8), np.ones((2, 2))) / 16.0 - 0.3) / 0.4  # 8x8 to 16x16
perm = np.random.default_rng(1).permutation(len(labels))[:360]
X = torch.tensor(images[perm, None], dtype=torch.float32)
y = torch.tensor(labels[perm])
train_iter = DataLoader(TensorDataset(X[:280], y[:280]), batch_size=20, shuffle=False)
test_iter = DataLoader(TensorDataset(X[280:], y[280:]), batch_size=40)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)


def evaluate_accuracy(net, data_iter):
    net.eval()  # Set the model to evaluation mode
    correct, total = 0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += (net(X).argmax(axis=1).type(y.dtype) == y).float().sum().item()
            total += y.numel()
    return correct / total


for epoch in range(4):
    model.train()
    metric = [0.0, 0, 0]
    for X, y in train_iter:
        y_hat = model(X)
        l = loss_fn(y_hat, y)
        optimizer.zero_grad()
        l.backward()
        optimizer.step()
        with torch.no_grad():
            metric[0] += l * X.shape[0]
            metric[1] += (y_hat.argmax(1) == y).sum()
            metric[2] += X.shape[0]
    train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
    test_acc = evaluate_accuracy(model, test_iter)
    print(f'epoch {epoch + 1}, loss {train_l:.4f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}')
print(type(metric[0]).__name__, metric[0].requires_grad, metric[1].dtype, type(metric[2]).__name__)
