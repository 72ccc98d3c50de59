"""The built-in plugins. Each module holds ``@gradcnn.hookimpl`` functions, exactly like a
third-party plugin, and is loaded by the same code (``gradcnn.plugins.DEFAULT_PLUGINS``)."""
