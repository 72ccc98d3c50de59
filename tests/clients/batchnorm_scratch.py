"""Batch normalization written from scratch (moving averages, a module holding them), in a LeNet
trained with a hand-written SGD that updates ``param.data``; then the concise version with
``nn.BatchNorm2d`` / ``nn.BatchNorm1d`` from the same weights, which must give the same numbers."""

import numpy as np
import torch
from torch import nn


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    # Use is_grad_enabled to determine whether we are in training mode
    if not torch.is_grad_enabled():
        # In prediction mode, use mean and variance obtained by moving average
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            # When using a fully connected layer, calculate the mean and
            # variance on the feature dimension
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            # When using a two-dimensional convolutional layer, calculate the
            # mean and variance on the channel dimension (axis=1). Here we
            # need to maintain the shape of X, so that the broadcasting
            # operation can be carried out later
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        # In training mode, the current mean and variance are used
        X_hat = (X - mean) / torch.sqrt(var + eps)
        # Update the mean and variance using moving average
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        # PyTorch keeps the unbiased variance; so does this one, to match nn.BatchNorm
        n = X.numel() / X.shape[1]
        moving_var = (1.0 - momentum) * moving_var + momentum * var * n / (n - 1)
    Y = gamma * X_hat + beta  # Scale and shift
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    # num_features: the number of outputs for a fully connected layer or the
    # number of output channels for a convolutional layer. num_dims: 2 for a
    # fully connected layer and 4 for a convolutional layer
    def __init__(self, num_features, num_dims):
        super().__init__()
        if num_dims == 2:
            shape = (1, num_features)
        else:
            shape = (1, num_features, 1, 1)
        # The scale parameter and the shift parameter (model parameters) are
        # initialized to 1 and 0, respectively
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        # The variables that are not model parameters are initialized to 0 and
        # 1
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        # If X is not on the main memory, copy moving_mean and moving_var to
        # the device where X is located
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        # Save the updated moving_mean and moving_var
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean,
            self.moving_var, eps=1e-5, momentum=0.1)
        return Y


def lenet(norm2d, norm1d):
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), norm2d(6), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), norm2d(16), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 2 * 2, 60), norm1d(60), nn.Sigmoid(),
        nn.Linear(60, 10))


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


rng = np.random.default_rng(0)
X_all = torch.tensor(rng.normal(0, 1, (96, 1, 16, 16)), dtype=torch.float32)
y_all = torch.tensor(rng.integers(0, 10, 96))
weights = {}  # one set of starting weights for both networks, by layer position
for i, shape in [(0, (6, 1, 5, 5)), (4, (16, 6, 5, 5)), (9, (60, 64)), (12, (10, 60))]:
    fan_in = int(np.prod(shape[1:]))
    weights[i] = (rng.uniform(-1, 1, shape) / np.sqrt(fan_in), rng.uniform(-0.1, 0.1, shape[0]))


def load(net):
    with torch.no_grad():
        for i, (w, b) in weights.items():
            net[i].weight.data.copy_(torch.from_numpy(w.astype(np.float32)))
            net[i].bias.data = torch.tensor(b, dtype=torch.float32)
    return net


scratch = load(lenet(lambda c: BatchNorm(c, num_dims=4), lambda c: BatchNorm(c, num_dims=2)))
concise = load(lenet(nn.BatchNorm2d, nn.BatchNorm1d))
print(concise)
loss = nn.CrossEntropyLoss(reduction='none')
lr, batch_size = 0.9, 32
for epoch in range(3):
    for net in (scratch, concise):
        net.train()
        total, n = 0.0, 0
        for i in range(0, len(X_all), batch_size):
            X, y = X_all[i:i + batch_size], y_all[i:i + batch_size]
            l = loss(net(X), y)
            l.sum().backward()
            sgd(net.parameters(), lr, batch_size)
            total += float(l.sum())
            n += l.numel()
        print(f'epoch {epoch + 1}, {"scratch" if net is scratch else "concise"} loss {total / n:f}')

print(scratch[1].gamma.detach().reshape((-1,)), scratch[1].beta.detach().reshape((-1,)), sep="\n")
print(concise[1].weight, concise[1].bias, sep='\n')
print(scratch[1].moving_mean.reshape(-1), concise[1].running_mean, sep='\n')
print(scratch[1].moving_var.reshape(-1), concise[1].running_var, sep='\n')
print(concise[1].num_batches_tracked, concise[1].running_mean.requires_grad)
print([name for name, _ in concise.named_buffers()][:3], len(list(scratch.parameters())))

with torch.no_grad():
    a, b = scratch(X_all[:8]), concise.eval()(X_all[:8])
print(a.argmax(1), b.argmax(1), f"{(a - b).abs().max().item() < 1e-3}")
print(concise.training, concise[1].training, scratch.training)
