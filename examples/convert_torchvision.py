"""Convert torchvision weights into a gradcnn model, with no renaming: gradcnn's built-in
architectures use torchvision's structure and state_dict keys.

    python examples/convert_torchvision.py resnet18 resnet18-f37072fd.pth resnet18.safetensors
    python examples/convert_torchvision.py inception_v3 inception_v3_google-0cc3c7bd.pth inception_v3.safetensors

Reading the ``.pth`` file needs torch (``torch.load(..., weights_only=True)``, which refuses to run
pickled code); the user installs it and downloads the weights themselves. The output is a gradcnn
checkpoint (:func:`gradcnn.save`: a safetensors file of the state dict, no pickle, with a SHA-256
and metadata naming the architecture, ``num_classes``, ``in_channels`` and the builder's options
under ``config``), so ``gradcnn eval`` and ``gradcnn visualize`` take it as ``--weights``. Its
tensors are named by the state_dict keys, so plain safetensors reads it too. Loading it back:

    model = gradcnn.create_model("inception_v3", **gradcnn.io.load_metadata(path)["config"])
    model.load_state_dict(gradcnn.load(path))

Every key must exist in both state dicts with the same shape, with one exception: checkpoints
saved before PyTorch 0.4.1 (torchvision's Inception v3 weights among them) have no
``num_batches_tracked`` in their batch norms; PyTorch starts that counter at 0 when it loads such a
file, and so does this script.

Options the published weights need are set as torchvision's builders set them when they load
weights: Inception v3 gets ``transform_input=True`` (its weights, ported from TensorFlow, expect
input scaled to [-1, 1], and the model maps ImageNet-normalised input there). ``--config`` with a
JSON object overrides them (``--config '{"transform_input": false}'`` for weights you trained
without it).
"""

import argparse
import json
import sys

import numpy as np

import gradcnn
from gradcnn.io import save

# What torchvision's builders set when they load their published weights.
PRETRAINED_CONFIG = {"inception_v3": {"transform_input": True}}
# Build options that only save time: the weights are replaced anyway.
BUILD_ONLY = {"inception_v3": {"init_weights": False}}


def fill_num_batches_tracked(arrays, model):
    """Add ``num_batches_tracked = 0`` for every batch norm of ``model`` that ``arrays`` has the
    running statistics of but no counter (a checkpoint from before PyTorch 0.4.1). Returns the
    keys added."""
    added = []
    for key in model.state_dict():
        prefix = key[: -len("num_batches_tracked")]
        if key.endswith("num_batches_tracked") and key not in arrays and prefix + "running_mean" in arrays:
            arrays[key] = np.array(0, dtype=np.int64)
            added.append(key)
    return added


def convert(name, arrays, **config):
    """Build gradcnn's ``name`` with ``config`` and load ``arrays`` (key -> NumPy array) into it
    strictly: every key must exist in both, with the same shape (missing ``num_batches_tracked``
    counters are filled with 0). Returns the model."""
    model = gradcnn.create_model(name, **{**BUILD_ONLY.get(name, {}), **config})
    arrays = dict(arrays)
    fill_num_batches_tracked(arrays, model)
    model.load_state_dict(arrays, strict=True)
    return model


def torch_state_dict_to_arrays(path):
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return {key: value.detach().cpu().numpy() for key, value in state.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="gradcnn architecture name, e.g. resnet18, vgg16, inception_v3")
    parser.add_argument("weights", help="a torchvision .pth state_dict file")
    parser.add_argument("output", help="where to write the safetensors file")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--config", type=json.loads, default={}, metavar="JSON",
                        help="options for the architecture's builder, as a JSON object "
                             "(default: what torchvision sets for its published weights)")
    args = parser.parse_args(argv)
    if not isinstance(args.config, dict):
        parser.error(f"--config must be a JSON object, got {args.config!r}")
    config = {**PRETRAINED_CONFIG.get(args.model, {}), **args.config}

    arrays = torch_state_dict_to_arrays(args.weights)
    model = convert(args.model, arrays, num_classes=args.num_classes, **config)
    metadata = {"architecture": args.model, "num_classes": args.num_classes, "config": config}
    first = next((m for m in model.modules() if isinstance(m, gradcnn.nn.Conv2d)), None)
    if first is not None:
        metadata["in_channels"] = first.in_channels
    save(model.state_dict(), args.output, metadata=metadata)
    total = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {len(arrays)} tensors, {total:,} parameters -> {args.output}"
          + (f" (options {json.dumps(config)})" if config else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
