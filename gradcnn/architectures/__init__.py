"""Model architectures built from ``gradcnn.nn``, one module per family.

Each module has factory functions (``lenet5()``, ``vgg16()``, ...) and a ``register_all(register)``
that the built-in plugins in ``gradcnn/default_plugins/`` call, so ``gradcnn.create_model(name)``
builds any of them. Importing this package imports none of the families.
"""
