"""Inception v3 (``gradcnn.architectures.inception``), registered the way a third-party plugin
registers its models: ``gradcnn.create_model("inception_v3", num_classes=10)``."""

import gradcnn


@gradcnn.hookimpl
def register_architectures(register):
    from gradcnn.architectures import inception

    inception.register_all(register)
