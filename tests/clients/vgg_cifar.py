"""A small VGG built from ``vgg_block``s with lazy convolutions, trained in the loop of the
CIFAR-10 tutorial (running loss every few minibatches, overall and per-class accuracy), with
``nn.init.kaiming_normal_`` through ``model.apply``, ``zero_grad(set_to_none=True)``, a device
chosen the usual way and ``non_blocking`` copies; synthetic 3x16x16 images from NumPy."""

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


def vgg_block(num_convs, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(nn.LazyConv2d(out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, arch, num_classes=4):
        super().__init__()
        conv_blks = []
        for (num_convs, out_channels) in arch:
            conv_blks.append(vgg_block(num_convs, out_channels))
        self.net = nn.Sequential(
            *conv_blks, nn.Flatten(),
            nn.LazyLinear(64), nn.ReLU(), nn.Dropout(0.0),
            nn.LazyLinear(num_classes))

    def forward(self, x):
        return self.net(x)


def init_weights(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.01)
        nn.init.zeros_(m.bias)


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
torch.cuda.manual_seed_all(0)
torch.backends.cudnn.benchmark = True

classes = ('plane', 'car', 'bird', 'cat')
rng = np.random.default_rng(0)
n = 192
labels = rng.integers(0, len(classes), n)
images = rng.normal(0, 1, (n, 3, 16, 16)).astype(np.float32)
for c in range(len(classes)):  # each class has its own bright quadrant
    r, q = divmod(c, 2)
    images[labels == c, c % 3, r * 8:(r + 1) * 8, q * 8:(q + 1) * 8] += 1.5
trainset = TensorDataset(torch.from_numpy(images[:128]), torch.from_numpy(labels[:128]))
testset = TensorDataset(torch.from_numpy(images[128:]), torch.from_numpy(labels[128:]))
trainloader = DataLoader(trainset, batch_size=16, shuffle=False, num_workers=0, pin_memory=True)
testloader = DataLoader(testset, batch_size=32, shuffle=False)

net = VGG(arch=((1, 8), (1, 16), (2, 16)))
net(torch.zeros(1, 3, 16, 16))  # materialize the lazy layers
net.apply(init_weights)
w = net.net[0][0].weight
print("kaiming std close:", abs(w.std().item() / (2.0 / (w.shape[0] * 9)) ** 0.5 - 1) < 0.25)
print("linear init small:", net.net[-1].weight.abs().max().item() < 0.06)
init = {k: torch.tensor(rng.normal(0, 1 / np.sqrt(v[0].numel()) if v.dim() > 1 else 0.0, tuple(v.shape)),
                        dtype=torch.float32) for k, v in net.state_dict().items()}
net.load_state_dict(init)
net = net.to(device)
print(net)

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.02, momentum=0.9)

for epoch in range(3):  # loop over the dataset multiple times
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        # get the inputs; data is a list of [inputs, labels]
        inputs, labels = data[0].to(device, non_blocking=True), data[1].to(device, non_blocking=True)

        # zero the parameter gradients
        optimizer.zero_grad(set_to_none=True)

        # forward + backward + optimize
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()

        # print statistics
        running_loss += loss.item()
        if i % 4 == 3:    # print every 4 mini-batches
            print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 4:.3f}')
            running_loss = 0.0

print('Finished Training')
PATH = './cifar_net.pth'
torch.save(net.state_dict(), PATH)

net = VGG(arch=((1, 8), (1, 16), (2, 16)))
net(torch.zeros(1, 3, 16, 16))
net.load_state_dict(torch.load(PATH, weights_only=True))
net.eval()

dataiter = iter(testloader)
images, labels = next(dataiter)
print('GroundTruth: ', ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))
outputs = net(images)
_, predicted = torch.max(outputs, 1)
print('Predicted: ', ' '.join(f'{classes[predicted[j]]:5s}' for j in range(4)))

correct = 0
total = 0
# since we're not training, we don't need to calculate the gradients for our outputs
with torch.no_grad():
    for data in testloader:
        images, labels = data
        # calculate outputs by running images through the network
        outputs = net(images)
        # the class with the highest energy is what we choose as prediction
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()

print(f'Accuracy of the network on the {total} test images: {100 * correct // total} %')

# prepare to count predictions for each class
correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}

# again no gradients needed
with torch.no_grad():
    for data in testloader:
        images, labels = data
        outputs = net(images)
        _, predictions = torch.max(outputs, 1)
        # collect the correct predictions for each class
        for label, prediction in zip(labels, predictions):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1

# print accuracy for each class
for classname, correct_count in correct_pred.items():
    accuracy = 100 * float(correct_count) / total_pred[classname]
    print(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')
