"""The built-in datasets (``gradcnn.data.datasets``), registered the way a third-party plugin
registers its own. Each is made with ``gradcnn.create_dataset(name, split="train" | "test", **config)``."""

import gradcnn


@gradcnn.hookimpl
def register_datasets(register):
    from gradcnn.data import datasets

    register("digits", datasets.digits)
    register("mnist", datasets.mnist)
    register("fashion-mnist", datasets.fashion_mnist)
    register("synthetic", datasets.synthetic)
