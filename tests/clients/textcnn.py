"""A TextCNN for sentence classification: an embedding (one trained, one frozen copy of
"pretrained" vectors), Conv1d of several widths, max-over-time pooling, dropout, a linear
classifier; padded token batches from a vocabulary, BCE and cross-entropy losses, Adam with
gradient clipping and early-stopping bookkeeping; synthetic sentences from NumPy."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class TextCNN(nn.Module):
    def __init__(self, vocab_size, embed_size, kernel_sizes, num_channels, num_classes=2, dropout=0.5,
                 pad_idx=0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=pad_idx)
        # The embedding layer not to be trained
        self.constant_embedding = nn.Embedding(vocab_size, embed_size)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(sum(num_channels), num_classes)
        # The max-over-time pooling layer has no parameters, so this instance can be shared
        self.pool = nn.AdaptiveMaxPool1d(1)
        self.relu = nn.ReLU()
        # Create multiple one-dimensional convolutional layers
        self.convs = nn.ModuleList()
        for c, k in zip(num_channels, kernel_sizes):
            self.convs.append(nn.Conv1d(2 * embed_size, c, k))

    def forward(self, inputs):
        # Concatenate two embedding layer outputs with shape (batch size, no.
        # of tokens, token vector dimension) along vectors
        embeddings = torch.cat((
            self.embedding(inputs), self.constant_embedding(inputs)), dim=2)
        # Per the input format of one-dimensional convolutional layers,
        # rearrange the tensor so that the second dimension stores channels
        embeddings = embeddings.permute(0, 2, 1)
        # For each one-dimensional convolutional layer, after max-over-time
        # pooling, a tensor of shape (batch size, no. of channels, 1) is
        # obtained. Remove the last dimension and concatenate along channels
        encoding = torch.cat([
            torch.squeeze(self.relu(self.pool(conv(embeddings))), dim=-1)
            for conv in self.convs], dim=1)
        outputs = self.decoder(self.dropout(encoding))
        return outputs


class KimCNN(nn.Module):
    """The other common form: ``F.max_pool1d`` over the whole length and one logit for BCE."""

    def __init__(self, vocab_size, embed_dim, n_filters, filter_sizes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.convs = nn.ModuleList([nn.Conv2d(1, n_filters, (fs, embed_dim)) for fs in filter_sizes])
        self.fc = nn.Linear(len(filter_sizes) * n_filters, 1)

    def forward(self, text):
        embedded = self.embedding(text).unsqueeze(1)             # [batch, 1, sent len, emb dim]
        conved = [F.relu(conv(embedded)).squeeze(3) for conv in self.convs]
        pooled = [F.max_pool1d(conv, conv.shape[2]).squeeze(2) for conv in conved]
        cat = torch.cat(pooled, dim=1)
        return self.fc(cat)


# A vocabulary, sentences of different lengths, and labels that depend on which words occur.
vocab = ["<pad>", "<unk>"] + [f"w{i}" for i in range(38)]
token_to_idx = {t: i for i, t in enumerate(vocab)}
rng = np.random.default_rng(17)
sentences, labels = [], []
for _ in range(200):
    n = int(rng.integers(4, 12))
    words = [vocab[i] for i in rng.integers(2, len(vocab), n)]
    labels.append(int(sum(int(w[1:]) < 10 for w in words) >= 2))  # "positive" words are w0..w9
    sentences.append(words)
print("positive share:", sum(labels) / len(labels))


class SentenceDataset(Dataset):
    def __init__(self, sentences, labels):
        self.items = [([token_to_idx.get(w, 1) for w in s], y) for s, y in zip(sentences, labels)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def collate(batch, num_steps=12):
    """Pad or truncate every sentence to num_steps tokens."""
    tokens = [ids[:num_steps] + [0] * (num_steps - len(ids[:num_steps])) for ids, _ in batch]
    return torch.tensor(tokens, dtype=torch.long), torch.tensor([y for _, y in batch])


train_iter = DataLoader(SentenceDataset(sentences[:160], labels[:160]), batch_size=32, collate_fn=collate)
test_iter = DataLoader(SentenceDataset(sentences[160:], labels[160:]), batch_size=40, collate_fn=collate)
X, y = next(iter(train_iter))
print(X.shape, X.dtype, y[:8], (X == 0).sum().item(), "pads")

embed_size, kernel_sizes, nums_channels = 8, [2, 3, 4], [6, 6, 6]
net = TextCNN(len(vocab), embed_size, kernel_sizes, nums_channels, dropout=0.0)


def init_weights(module):
    if type(module) in (nn.Linear, nn.Conv1d):
        nn.init.xavier_uniform_(module.weight)


net.apply(init_weights)
pretrained = rng.normal(0, 1, (len(vocab), embed_size)).astype(np.float32)
with torch.no_grad():
    for name, p in net.named_parameters():
        if name.startswith("embedding"):
            p.copy_(torch.from_numpy(rng.normal(0, 1, p.shape).astype(np.float32)))
        elif p.dim() > 1:
            limit = np.sqrt(6.0 / (p.shape[0] + p[0].numel()))  # Xavier's bound, drawn by NumPy
            p.copy_(torch.from_numpy(rng.uniform(-limit, limit, p.shape).astype(np.float32)))
        else:
            p.zero_()
    net.embedding.weight[0] = 0  # the padding row
net.constant_embedding.weight.data.copy_(torch.from_numpy(pretrained))
net.constant_embedding.weight.requires_grad = False
print(net)
print(sum(p.numel() for p in net.parameters() if p.requires_grad), "trainable of",
      sum(p.numel() for p in net.parameters()))

optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, net.parameters()), lr=0.01)
loss_fn = nn.CrossEntropyLoss(reduction="none")
best, bad_epochs = float("inf"), 0
for epoch in range(4):
    net.train()
    total, count = 0.0, 0
    for X, y in train_iter:
        optimizer.zero_grad()
        l = loss_fn(net(X), y)
        l.sum().backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        optimizer.step()
        total += l.sum().item()
        count += y.numel()
    net.eval()
    with torch.no_grad():
        correct = sum((net(X).argmax(dim=1) == y).sum().item() for X, y in test_iter)
    val = total / count
    if val < best - 1e-4:
        best, bad_epochs = val, 0
    else:
        bad_epochs += 1
    print(f"epoch {epoch + 1}, loss {val:.4f}, test acc {correct / 40:.3f}, patience {bad_epochs}")
print("padding row stays zero:", net.embedding.weight[0].abs().sum().item() == 0.0,
      "frozen embedding unchanged:", torch.equal(net.constant_embedding.weight, torch.from_numpy(pretrained)))

kim = KimCNN(len(vocab), 6, 4, [2, 3])
with torch.no_grad():
    for p in kim.parameters():
        p.copy_(torch.tensor(rng.normal(0, 0.3, tuple(p.shape)), dtype=torch.float32))
criterion = nn.BCEWithLogitsLoss()
opt = torch.optim.SGD(kim.parameters(), lr=0.1)
for X, y in train_iter:
    opt.zero_grad()
    predictions = kim(X).squeeze(1)
    loss = criterion(predictions, y.float())
    loss.backward()
    opt.step()
    rounded = torch.round(torch.sigmoid(predictions))
    print(f"batch loss {loss.item():.5f} acc {(rounded == y).float().mean().item():.4f}")
