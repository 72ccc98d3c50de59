"""The ResNet, DenseNet and GoogLeNet builders of ``gradcnn.architectures``, registered the way a
third-party plugin registers its models (``gradcnn.create_model("resnet50", num_classes=10)``)."""

import gradcnn


@gradcnn.hookimpl
def register_architectures(register):
    from gradcnn.architectures import densenet, googlenet, resnet

    for family in (resnet, densenet, googlenet):
        family.register_all(register)
