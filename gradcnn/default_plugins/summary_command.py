"""``gradcnn summary NAME --input 3x224x224``: the layer table of a registered architecture."""

import argparse

import gradcnn
from gradcnn.cli import positive_int


@gradcnn.hookimpl
def register_commands(cli):
    command = cli.add_parser(
        "summary", help="print the layers, parameters, receptive fields and mult-adds of a model",
        description="Build the registered architecture NAME and trace one sample through it: a row "
                    "per layer (output shape, parameters, receptive field, jump, multiply-adds) and "
                    "the totals.")
    command.add_argument("name", metavar="NAME", help="a registered architecture (`gradcnn models` lists them)")
    command.add_argument("--input", required=True, type=_shape, metavar="CxHxW",
                         help="one sample's shape, such as 3x224x224 or 1x32x32")
    command.add_argument("--num-classes", type=positive_int, metavar="N",
                         help="passed to the architecture as num_classes (default: its own)")
    command.set_defaults(func=_summary)


def _shape(text):
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected positive sizes joined by 'x', such as 3x224x224")
    return shape


def _summary(args):
    config = {} if args.num_classes is None else {"num_classes": args.num_classes}
    model = gradcnn.create_model(args.name, **config)
    print(gradcnn.summary(model, args.input))
