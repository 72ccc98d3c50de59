"""The classic architectures: LeNet-5, AlexNet and VGG, registered the way a third-party plugin
registers its models. The families are imported when plugins load, not by ``import gradcnn``."""

import gradcnn


@gradcnn.hookimpl
def register_architectures(register):
    from gradcnn.architectures import alexnet, lenet, vgg

    for family in (lenet, alexnet, vgg):
        family.register_all(register)
