"""The version of gradcnn, in one place (the package, the plugin records and the build read it)."""

__version__ = "0.1.0"
