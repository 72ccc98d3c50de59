"""The tensor idioms CNN programs are made of, each printed: creation, dtype promotion, indexing
and masks, reductions with ``dim`` or ``axis`` and their ``(values, indices)`` results, shape
changes, in-place updates, formatting, grad-mode switches, hooks on tensors, a custom autograd
Function, module bookkeeping (``named_modules``, ``state_dict``, ``register_buffer``), and a
state dict written to an in-memory buffer and read back."""

import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
print(torch.cuda.is_available() in (True, False), torch.device("cpu"), torch.get_num_threads() >= 1)

# Creation and dtypes
a = torch.arange(12).reshape(3, 4)
b = torch.tensor([[1.5, -2.0, 0.25, 4.0]])
print(a.dtype, b.dtype, torch.zeros(2, 3).dtype, torch.ones(2, dtype=torch.int32).dtype, torch.full((2,), 7).dtype)
print(torch.linspace(0, 1, 5), torch.eye(3)[1], torch.zeros_like(b), torch.ones_like(a)[0])
print(torch.tensor(np.array([1, 2], dtype=np.int32)).dtype, torch.from_numpy(np.ones(2)).dtype)

# PyTorch's promotion: a tensor's category wins over a Python number's, dims over 0-d.
print((a / 2).dtype, (a * 1.5).dtype, (a + True).dtype, (b * torch.tensor(2.0, dtype=torch.float64)).dtype)
print((a.int() + a).dtype, (a > 5).dtype, (a.float() + a.double()).dtype, (a // 5).tolist(), (a % 5).tolist())
print(torch.tensor([1, 2]) / torch.tensor([2, 4]), torch.tensor([3, 4]).float().mean())

# Indexing, masks, where, clamp
print(a[1], a[:, 1], a[-1, -2:], a[[0, 2]], a[a % 2 == 0], a[..., 0])
mask = (a > 2) & (a < 9)
print(mask.sum().item(), (~mask).sum(), mask.any(), mask.all(), torch.where(mask, a, -1))
print(b.clamp(min=0), b.clamp(-1, 1), torch.clamp(b, max=0.5), b.abs().sqrt(), b.sign())
c = a.clone()
c[c > 8] = 0
c[0] += 100
print(c, a[0, 0].item())

# Reductions and their named results
values, indices = torch.max(b, dim=1)
print(values, indices, b.max(), b.argmax(), b.max(1).indices, b.min(dim=-1, keepdim=True).values)
print(a.sum(), a.sum(dim=0), a.float().mean(axis=1), a.sum(1, keepdim=True).shape, a.float().std(), a.float().var(0))
top = torch.topk(b, 2, dim=1)
print(top.values, top.indices, torch.sort(b, descending=True).indices, torch.argsort(b), b.argsort(dim=1, descending=True))
print(torch.cumsum(a, dim=1)[1], a.float().norm(), a.float().norm(dim=1), torch.logsumexp(b, dim=1))

# Shapes
x = torch.arange(24.0).view(2, 3, 4)
print(x.view(x.size(0), -1).shape, x.flatten(1).shape, x.permute(2, 0, 1).shape, x.transpose(1, 2).shape,
      x.unsqueeze(0).shape, x[None].shape, x.reshape(-1).shape, x.contiguous().is_contiguous())
print(torch.cat([x, x], 0).shape, torch.stack([x, x], dim=1).shape, x.chunk(2, dim=2)[1].shape,
      [t.shape for t in x.split([1, 3], dim=2)], x.squeeze().shape, x.size(), x.size(-1), x.dim(), x.numel())
print(x.mT.shape, x[0].T.shape, x.expand(2, 2, 3, 4).shape, x.repeat(1, 2, 1).shape, x.flip(0)[0, 0])
print(F.pad(x, (1, 1)).shape, F.interpolate(x[None], scale_factor=2, mode="nearest").shape,
      F.one_hot(torch.tensor([0, 2]), num_classes=3))

# In place
y = torch.zeros(3)
y.add_(1).mul_(3).sub_(torch.tensor([0.0, 1.0, 2.0])).div_(2)
y.clamp_(max=1.2)
print(y, y.fill_(0.5), y.zero_(), y.copy_(torch.tensor([1, 2, 3])))

# Numbers out
loss = torch.tensor(0.123456)
print(f"{loss:.3f}", f"{loss.item():.4f}", float(loss), int(torch.tensor(7)), loss.item() > 0.1,
      torch.tensor([1.0, 2.0]).tolist(), a.numpy().sum(), torch.tensor([[1, 2]]).tolist())
print("{:.2f}".format(torch.tensor(2.0 / 3)), round(torch.tensor(2.0 / 3).item(), 3), str(torch.tensor(1.5)))

# Grad modes and tensor hooks
w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
with torch.no_grad():
    z = w * 2
print(z.requires_grad, torch.is_grad_enabled())
with torch.set_grad_enabled(False):
    print((w * 2).requires_grad)
with torch.inference_mode():
    print((w + 1).requires_grad)
seen = []
h = w.register_hook(lambda g: seen.append(g.clone()))
mid = w * w
mid.retain_grad()
out = (mid * torch.tensor([1.0, 0.5, 0.25])).sum()
out.backward()
h.remove()
print(w.grad, mid.grad, seen[0], w.is_leaf, mid.is_leaf, mid.grad_fn is not None, out.grad_fn.name() != "")
w.grad = None
(w ** 3).sum().backward()
print(w.grad, w.detach().requires_grad, w.data.requires_grad)
(g,) = torch.autograd.grad((w ** 2).sum(), w, create_graph=True)
(g2,) = torch.autograd.grad(g.sum(), w)
print(g.detach(), g.requires_grad, g2)


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input * input

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return 2 * input * grad_output


v = torch.tensor([1.0, -2.0], requires_grad=True)
Square.apply(v).sum().backward()
print(v.grad)


# Modules: buffers, bookkeeping, state dicts in memory
class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


net = nn.Sequential(Normalize([0.5], [0.25]), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2))
print([name for name, _ in net.named_modules()], [name for name, _ in net.named_buffers()])
print(list(net.state_dict().keys()), net[1].weight.requires_grad, net[0].mean.requires_grad)
print(isinstance(net[1], nn.Conv2d), isinstance(net[1].weight, nn.Parameter), isinstance(net[1].weight, torch.Tensor))
rng = np.random.default_rng(0)
net.load_state_dict({k: torch.tensor(rng.normal(0, 0.5, tuple(v.shape)), dtype=v.dtype)
                     if k.startswith(("1.", "4.")) else v for k, v in net.state_dict().items()})
buffer = io.BytesIO()
torch.save(net.state_dict(), buffer)
buffer.seek(0)
copy = nn.Sequential(Normalize([0.0], [1.0]), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2))
copy.load_state_dict(torch.load(buffer, weights_only=True))
inp = torch.tensor(rng.random((2, 1, 4, 6)), dtype=torch.float32)
print(net(inp).detach(), torch.equal(net(inp), copy(inp)), copy[0].mean.view(-1))
net.requires_grad_(False)
print(all(not p.requires_grad for p in net.parameters()), net.training, net.eval().training, net.train().training)
