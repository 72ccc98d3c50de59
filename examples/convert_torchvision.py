"""Convert torchvision weights into a gradcnn model, with no renaming: gradcnn's built-in
architectures use torchvision's structure and state_dict keys.

    python examples/convert_torchvision.py resnet18 resnet18-f37072fd.pth resnet18.safetensors

Reading the ``.pth`` file needs torch (``torch.load(..., weights_only=True)``, which refuses to run
pickled code); the user installs it and downloads the weights themselves. The output is a
safetensors file of NumPy arrays: no pickle. Loading it back:

    from safetensors.numpy import load_file
    model = gradcnn.create_model("resnet18")
    model.load_state_dict(load_file("resnet18.safetensors"))
"""

import argparse
import sys

import numpy as np

import gradcnn


def convert(name, arrays, **config):
    """Build gradcnn's ``name`` and load ``arrays`` (key -> NumPy array) into it strictly: every
    key must exist in both, with the same shape. Returns the model."""
    model = gradcnn.create_model(name, **config)
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
    parser.add_argument("model", help="gradcnn architecture name, e.g. resnet18, vgg16, densenet121")
    parser.add_argument("weights", help="a torchvision .pth state_dict file")
    parser.add_argument("output", help="where to write the safetensors file")
    parser.add_argument("--num-classes", type=int, default=1000)
    args = parser.parse_args(argv)
    from safetensors.numpy import save_file

    arrays = torch_state_dict_to_arrays(args.weights)
    model = convert(args.model, arrays, num_classes=args.num_classes)
    save_file({k: np.ascontiguousarray(v.numpy()) for k, v in model.state_dict().items()}, args.output)
    total = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {len(arrays)} tensors, {total:,} parameters -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
