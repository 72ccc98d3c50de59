"""``gradcnn visualize MODEL --weights FILE --dataset NAME``: pictures of what a trained model
learned, for one image of a dataset (see :mod:`gradcnn.visualize` for what each picture shows).

The model is built as ``gradcnn train`` built it: ``num_classes`` and ``in_channels`` come from
the checkpoint's metadata when it has them (``gradcnn train`` and
``examples/convert_torchvision.py`` write them, the latter with the architecture's options under
``config``), otherwise from the dataset. ``--weights`` takes a ``model.safetensors`` or a training
``checkpoint.safetensors`` written by gradcnn, or any safetensors file of a state dict; without it
the untrained model is shown.
"""

import sys

import gradcnn


@gradcnn.hookimpl
def register_commands(cli):
    command = cli.add_parser(
        "visualize", help="draw a model's filters, feature maps, receptive fields and saliency",
        description="Trace one image of a dataset through a registered model and write filters.png, "
                    "feature_maps.png, receptive_field.png and saliency.png into --out.")
    command.add_argument("model", metavar="MODEL", help="a registered architecture (`gradcnn models` lists them)")
    command.add_argument("--weights", metavar="FILE", help="a safetensors state dict or checkpoint "
                         "(default: the untrained model)")
    command.add_argument("--dataset", default="digits", help="dataset name (default digits)")
    command.add_argument("--split", choices=("train", "test"), default="test", help="default test")
    command.add_argument("--index", type=int, default=0, metavar="I", help="which image (default 0)")
    command.add_argument("--layer", metavar="NAME",
                         help="a module name (as in state_dict keys, e.g. features.3) for Grad-CAM and "
                              "an extra row of feature maps (default: the last convolution stage)")
    command.add_argument("--target", type=int, metavar="CLASS",
                         help="the class Grad-CAM and saliency explain (default: the predicted one)")
    command.add_argument("--size", type=int, metavar="N", help="passed to the dataset as size (its image side)")
    command.add_argument("--data-dir", default=None, help="where IDX files are (mnist, fashion-mnist)")
    command.add_argument("--out", default="runs/latest", help="output directory (default runs/latest)")
    command.set_defaults(func=_visualize)


def _read_weights(path):
    """``(state_dict, metadata)`` from a gradcnn checkpoint (verified) or a plain safetensors file."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    from gradcnn.io import load, load_metadata

    try:
        with safe_open(path, framework="np") as f:
            header = f.metadata() or {}
    except Exception:  # not readable as safetensors: gradcnn.io.load says why, in its words
        header = None
    if header is not None and "gradcnn" not in header:
        return load_file(path), {}
    state, metadata = load(path), load_metadata(path)
    if isinstance(state, dict) and isinstance(state.get("model"), dict) and "optimizer" in state:
        state = state["model"]  # a training checkpoint
    return state, metadata if isinstance(metadata, dict) else {}


def _visualize(args):
    from gradcnn.errors import CheckpointError, ShapeError
    from gradcnn.visualize import visualize

    state, metadata = _read_weights(args.weights) if args.weights else (None, {})
    saved_as = metadata.get("architecture")
    if saved_as is not None and saved_as != args.model:
        raise CheckpointError(f"visualize: {args.weights!r} holds weights of {saved_as!r}, not {args.model!r}")
    config = {} if args.data_dir is None else {"data_dir": args.data_dir}
    if args.size is not None:
        config["size"] = args.size
    dataset = gradcnn.create_dataset(args.dataset, split=args.split, **config)
    if not 0 <= args.index < len(dataset):
        raise ShapeError(f"visualize: --index {args.index} is outside the {len(dataset)} images of "
                         f"{args.dataset}'s {args.split} split")
    options = {"num_classes": metadata.get("num_classes", len(dataset.classes)),
               "in_channels": metadata.get("in_channels", dataset.input_shape[0]),
               **(metadata.get("config") or {})}
    model = gradcnn.create_model(args.model, **options)
    if state is not None:
        model.load_state_dict(state)
    image, label = dataset[args.index]
    try:  # a model that needs larger images fails here, where the remedy can be named
        with gradcnn.no_grad():
            model.eval()(image.unsqueeze(0))
    except ShapeError as exc:
        side = "x".join(map(str, image.shape[1:]))
        raise ShapeError(f"{exc} (the dataset's images are {side}; --size N makes them N x N)") from exc
    try:
        report = visualize(model, image, args.out, layer=args.layer, target=args.target, label=int(label),
                           class_names=getattr(dataset, "classes", None))
    except ImportError as exc:  # matplotlib missing: one line, like any other error
        print(f"gradcnn: error: {exc}", file=sys.stderr)
        return 1
    if state is None:
        print(f"no --weights: this is the untrained {args.model}")
    names = getattr(dataset, "classes", None) or []
    predicted = report["predicted"]
    shown = names[predicted] if predicted < len(names) else predicted
    print(f"{args.dataset} {args.split}[{args.index}]: label {int(label)}, predicted {shown}")
    for n, stage in enumerate(report["stages"], 1):
        shape = "x".join(map(str, stage["shape"]))
        rf = "x".join(map(str, stage["receptive_field"]))
        print(f"stage {n}: {stage['convs']} conv, output of {stage['name']} {shape}, receptive field {rf}, "
              f"gradient support {stage['gradient']}")
    print(f"wrote {', '.join(report[k] for k in ('filters', 'feature_maps', 'receptive_field', 'saliency'))}")
    return 0
