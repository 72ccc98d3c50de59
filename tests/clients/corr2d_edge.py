"""The textbook's first convolution chapter: cross-correlation by loops, a Conv2D module of our own,
edge detection, and learning the edge kernel back by gradient descent."""

import numpy as np
import torch
from torch import nn


def corr2d(X, K):
    """Compute 2D cross-correlation."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        # torch.rand(kernel_size) in the book; NumPy here so that both libraries start alike
        rng = np.random.default_rng(0)
        self.weight = nn.Parameter(torch.tensor(rng.random(kernel_size), dtype=torch.float32))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias


X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
print(corr2d(X, K))

X = torch.ones((6, 8))
X[:, 2:6] = 0
print(X)
K = torch.tensor([[1.0, -1.0]])
Y = corr2d(X, K)
print(Y)
print(corr2d(X.t(), K))
print(X.shape, Y.shape, Y.dtype)

# Our own module, trained by hand with .data updates.
net = Conv2D(kernel_size=(1, 2))
lr = 1e-2
for i in range(10):
    Y_hat = net(X)
    l = (Y_hat - Y) ** 2
    net.zero_grad()
    l.sum().backward()
    net.weight.data[:] -= lr * net.weight.grad
    net.bias.data -= lr * net.bias.grad
    if (i + 1) % 2 == 0:
        print(f'epoch {i + 1}, loss {l.sum():.3f}')
print(net.weight.data.reshape((1, 2)), net.bias.data)

# The same with the library's layer: a lazy conv with one output channel, its weight set to NumPy's.
conv2d = nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)
X = X.reshape((1, 1, 6, 8))
Y = Y.reshape((1, 1, 6, 7))
conv2d(X)  # the dummy forward that gives the lazy layer its input size
print(type(conv2d.weight).__name__, conv2d.weight.shape, conv2d.in_channels)
with torch.no_grad():
    conv2d.weight.copy_(torch.tensor([[[[0.25, 0.75]]]]))
lr = 3e-2  # Learning rate

for i in range(10):
    Y_hat = conv2d(X)
    l = (Y_hat - Y) ** 2
    conv2d.zero_grad()
    l.sum().backward()
    # Update the kernel
    conv2d.weight.data[:] -= lr * conv2d.weight.grad
    if (i + 1) % 2 == 0:
        print(f'epoch {i + 1}, loss {l.sum():.3f}')

print(conv2d.weight.data.reshape((1, 2)))
print(f"grad is None before zero_grad: {conv2d.weight.grad is None}")
conv2d.zero_grad(set_to_none=True)
print(f"grad is None after zero_grad(set_to_none=True): {conv2d.weight.grad is None}")
print(conv2d)
