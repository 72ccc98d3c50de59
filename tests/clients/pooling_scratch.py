"""Pooling written with loops, then the library's pooling layers: padding, stride, several
channels, adaptive and global pooling, indices and unpooling of the maxima."""

import torch
from torch import nn
import torch.nn.functional as F


def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode == 'avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y


X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
print(pool2d(X, (2, 2)))
print(pool2d(X, (2, 2), 'avg'))

X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
print(X)
pool2d_layer = nn.MaxPool2d(3)
# Pooling has no model parameters, hence it needs no initialization
print(pool2d_layer(X))
pool2d_layer = nn.MaxPool2d(3, padding=1, stride=2)
print(pool2d_layer(X))
pool2d_layer = nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))
print(pool2d_layer(X))

X = torch.cat((X, X + 1), 1)
print(X.shape)
pool2d_layer = nn.MaxPool2d(3, padding=1, stride=2)
print(pool2d_layer(X))
print(nn.AvgPool2d(3, padding=1, stride=2)(X))
print(nn.AvgPool2d(3, padding=1, stride=2, count_include_pad=False)(X))
print(nn.AvgPool2d(2, ceil_mode=True)(X[:, :, :3, :3]))
print(nn.MaxPool2d(2, ceil_mode=True)(X[:, :, :3, :3]))

# The loops agree with the layers.
Z = torch.tensor([[1.0, 5.0, 2.0, 0.0], [3.0, -1.0, 7.0, 4.0], [0.5, 2.5, 6.0, -3.0]])
print(torch.equal(pool2d(Z, (2, 2)), F.max_pool2d(Z[None, None], 2, stride=1)[0, 0]))
print(torch.allclose(pool2d(Z, (2, 3), 'avg'), F.avg_pool2d(Z[None, None], (2, 3), stride=1)[0, 0]))

# Adaptive and global pooling, as at the end of NiN, GoogLeNet and ResNet.
print(nn.AdaptiveAvgPool2d((1, 1))(X).shape, nn.AdaptiveAvgPool2d(1)(X).flatten())
print(nn.AdaptiveMaxPool2d((2, 1))(X).squeeze())
print(F.adaptive_avg_pool2d(X, (3, 2)))
print(X.mean(dim=(2, 3)), torch.mean(X, [2, 3], keepdim=True).shape)

# Indices of the maxima, and unpooling them back.
values, indices = F.max_pool2d(Z[None, None], 2, return_indices=True)
print(values, indices)
print(nn.MaxPool1d(2, return_indices=True)(Z[None])[1])

# Gradients flow to the maxima only, and evenly through an average.
Z.requires_grad_(True)
F.max_pool2d(Z[None, None], 2, stride=1).sum().backward()
print(Z.grad)
Z.grad = None
F.avg_pool2d(Z[None, None], 2, stride=1).sum().backward()
print(Z.grad)
print(F.max_pool1d(torch.arange(10.0).reshape(1, 2, 5), 2), F.avg_pool1d(torch.arange(10.0).reshape(1, 2, 5), 3, 2))
