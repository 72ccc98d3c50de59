"""``gradcnn export MODEL --weights FILE --input 1x32x32 --out model.onnx``: a trained model as an
ONNX file (see :mod:`gradcnn.onnx`).

The model is built as ``gradcnn train`` built it: ``num_classes``, ``in_channels`` and any
``config`` come from the checkpoint's metadata, ``--num-classes`` overrides the first, and the
channels of ``--input`` must agree with the second. ``--weights`` takes the ``model.safetensors``
or the training ``checkpoint.safetensors`` that ``gradcnn train`` writes; an export of untrained
weights must be asked for with ``--random-weights``. The file's batch dim is dynamic unless
``--static-batch`` is given.
"""

import gradcnn
from gradcnn.cli import positive_int

from .summary_command import _shape


@gradcnn.hookimpl
def register_commands(cli):
    command = cli.add_parser(
        "export", help="write a model as an ONNX file",
        description="Build the registered architecture MODEL with the weights of a checkpoint, trace "
                    "one forward pass on an input of the given shape and write it as an ONNX file "
                    "(needs gradcnn[onnx]).")
    command.add_argument("model", metavar="MODEL", help="a registered architecture (`gradcnn models` lists them)")
    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", metavar="FILE",
                        help="a model.safetensors or checkpoint.safetensors written by gradcnn train")
    source.add_argument("--random-weights", action="store_true",
                        help="export the freshly initialised model (seeded by --seed)")
    command.add_argument("--input", required=True, type=_shape, metavar="CxHxW",
                         help="one sample's shape, such as 1x32x32 or 3x224x224")
    command.add_argument("--out", default="model.onnx", metavar="FILE", help="default model.onnx")
    command.add_argument("--opset", type=int, metavar="N",
                         help="ONNX opset (default: the newest the installed onnx and onnxruntime "
                              "support, at most 21)")
    command.add_argument("--num-classes", type=positive_int, metavar="K",
                         help="passed to the architecture as num_classes (default: the checkpoint's)")
    command.add_argument("--static-batch", action="store_true",
                         help="fix the batch size to 1 instead of leaving it dynamic")
    command.add_argument("--seed", type=int, default=0, help="seed for --random-weights and the traced input")
    command.set_defaults(func=_export)


def _checkpoint(path):
    """``(state_dict, metadata)`` of a file written by ``gradcnn train`` (either of its files)."""
    from gradcnn.io import load, load_metadata

    state, metadata = load(path), load_metadata(path)
    if isinstance(state.get("model"), dict) and "optimizer" in state:
        state = state["model"]
    return state, metadata if isinstance(metadata, dict) else {}


def _export(args):
    from gradcnn.errors import CheckpointError, ShapeError
    from gradcnn.onnx import export

    state, metadata = _checkpoint(args.weights) if args.weights else (None, {})
    saved_as = metadata.get("architecture")
    if saved_as is not None and saved_as != args.model:
        raise CheckpointError(f"export: {args.weights!r} holds weights of {saved_as!r}, not {args.model!r}")
    channels = args.input[0]
    if metadata.get("in_channels", channels) != channels:
        raise ShapeError(f"export: --input {'x'.join(map(str, args.input))} has {channels} channels but "
                         f"{args.weights!r} was trained on {metadata['in_channels']}")
    options = {"in_channels": channels, **(metadata.get("config") or {})}
    num_classes = args.num_classes if args.num_classes is not None else metadata.get("num_classes")
    if num_classes is not None:
        options["num_classes"] = num_classes
    gradcnn.manual_seed(args.seed)
    model = gradcnn.create_model(args.model, **options)
    if state is not None:
        model.load_state_dict(state)
    example = gradcnn.randn(1, *args.input)
    export(model, example, args.out, opset_version=args.opset, dynamic_batch=not args.static_batch)
    with gradcnn.no_grad():
        out = model.eval()(example)
    batch = "1" if args.static_batch else "batch"
    dims = ", ".join([batch, *map(str, args.input)]), ", ".join([batch, *map(str, out.shape[1:])])
    print(f"wrote {args.out}: {args.model}, input ({dims[0]}) -> output ({dims[1]})")
    return 0
