"""Padding and stride, multiple input and output channels, and the 1x1 convolution as a matrix
product, as a textbook teaches them; checked against the library's conv2d."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# We define a helper function to calculate convolutions. It initializes the
# convolutional layer weights and performs corresponding dimensionality
# elevations and reductions on the input and output
def comp_conv2d(conv2d, X):
    # (1, 1) indicates that batch size and the number of channels are both 1
    X = X.reshape((1, 1) + X.shape)
    Y = conv2d(X)
    # Strip the first two dimensions: examples and channels
    return Y.reshape(Y.shape[2:])


X = torch.rand(size=(8, 8))
# 1 row and column is padded on either side, so a total of 2 rows or columns are added
conv2d = nn.LazyConv2d(1, kernel_size=3, padding=1)
print(comp_conv2d(conv2d, X).shape)
conv2d = nn.LazyConv2d(1, kernel_size=(5, 3), padding=(2, 1))
print(comp_conv2d(conv2d, X).shape)
conv2d = nn.LazyConv2d(1, kernel_size=3, padding=1, stride=2)
print(comp_conv2d(conv2d, X).shape)
conv2d = nn.LazyConv2d(1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4))
print(comp_conv2d(conv2d, X).shape)
conv2d = nn.Conv2d(1, 1, kernel_size=3, padding='same', bias=False)
print(comp_conv2d(conv2d, X).shape, conv2d.padding)
conv2d = nn.Conv2d(1, 1, kernel_size=3, dilation=2, padding_mode='zeros')
print(comp_conv2d(conv2d, X).shape, conv2d.dilation)


def corr2d(X, K):
    """Compute 2D cross-correlation."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def corr2d_multi_in(X, K):
    # Iterate through the 0th dimension (channel) of K first, then add them up
    return sum(corr2d(x, k) for x, k in zip(X, K))


X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                  [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
print(corr2d_multi_in(X, K))


def corr2d_multi_in_out(X, K):
    # Iterate through the 0th dimension of K, and each time, perform
    # cross-correlation operations with input X. All of the results are
    # stacked together
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)


K = torch.stack((K, K + 1, K + 2), 0)
print(K.shape)
print(corr2d_multi_in_out(X, K))
print(F.conv2d(X.unsqueeze(0), K).squeeze(0))


def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    X = X.reshape((c_i, h * w))
    K = K.reshape((c_o, c_i))
    # Matrix multiplication in the fully connected layer
    Y = torch.matmul(K, X)
    return Y.reshape((c_o, h, w))


rng = np.random.default_rng(0)
X = torch.from_numpy(rng.normal(0, 1, (3, 3, 3)).astype(np.float32))  # torch.normal(0, 1, (3, 3, 3))
K = torch.tensor(rng.normal(0, 1, (2, 3, 1, 1)), dtype=torch.float32)
Y1 = corr2d_multi_in_out_1x1(X, K)
Y2 = corr2d_multi_in_out(X, K)
assert float(torch.abs(Y1 - Y2).sum()) < 1e-5
print(f"1x1 as matmul: max difference below 1e-5: {float((Y1 - Y2).abs().max()) < 1e-5}")
print(Y1)

# The layer agrees with the loops, bias included, at stride 2 with padding.
conv = nn.Conv2d(3, 2, kernel_size=3, stride=2, padding=1)
with torch.no_grad():
    conv.weight.copy_(torch.tensor(rng.normal(0, 0.5, conv.weight.shape), dtype=torch.float32))
    conv.bias.fill_(0.5)
X = torch.tensor(rng.normal(0, 1, (1, 3, 7, 7)), dtype=torch.float32)
padded = F.pad(X, (1, 1, 1, 1))
print(padded.shape)
loops = torch.stack([corr2d_multi_in(padded[0], k) for k in conv.weight.detach()], 0)[:, ::2, ::2] + 0.5
print(loops.shape, conv(X).shape)
print(f"{(conv(X)[0] - loops).abs().max().item() < 1e-5}")
with torch.no_grad():
    print(conv(X))
print(conv.weight.grad, conv.bias.requires_grad, conv.weight.is_leaf)
