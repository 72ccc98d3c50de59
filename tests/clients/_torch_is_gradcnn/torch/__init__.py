"""``torch`` bound to gradcnn, for running a PyTorch program unchanged on gradcnn:
``PYTHONPATH=tests/clients/_torch_is_gradcnn python program.py``.

Importing this package replaces it in ``sys.modules`` by gradcnn and puts an import hook first on
``sys.meta_path`` that answers every ``torch.X.Y`` import with the gradcnn module of the same path
(``torch.nn.functional`` is ``gradcnn.nn.functional``, ``torch.optim.lr_scheduler`` is
``gradcnn.optim.lr_scheduler``). So ``import torch``, ``import torch.nn as nn``,
``from torch.utils.data import DataLoader`` and ``from torch import optim`` all reach gradcnn; a
path gradcnn does not have fails as a missing module does (ModuleNotFoundError), and PyTorch itself
is never loaded. Being an ordinary package found through ``PYTHONPATH``, it binds ``torch`` in
every process the program starts too (DataLoader workers, their forkserver).
"""

import importlib
import importlib.abc
import importlib.machinery
import sys

import gradcnn


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("torch."):
            return None
        target = "gradcnn" + fullname[len("torch"):]
        try:
            importlib.import_module(target)
        except ModuleNotFoundError as error:
            if error.name != target:
                raise
            raise ModuleNotFoundError(f"No module named {fullname!r} (gradcnn has no {target})",
                                      name=fullname) from None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        return sys.modules["gradcnn" + spec.name[len("torch"):]]

    def exec_module(self, module):
        pass  # already executed under its own name


sys.meta_path.insert(0, _Alias())
sys.modules[__name__] = gradcnn
