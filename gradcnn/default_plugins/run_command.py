"""``gradcnn run --nproc N script.py [ARGS]``: start N ranks of a script through MPI, as torchrun
does (:mod:`gradcnn.distributed.run` says how)."""

import sys

import gradcnn
from gradcnn.distributed import run as launcher


@gradcnn.hookimpl
def register_commands(cli):
    parser = cli.add_parser("run", help="start N ranks of a data-parallel script through MPI (like torchrun)",
                            description=launcher.DESCRIPTION)
    launcher.add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args):
    try:
        return launcher.run(args.nproc, args.target, args.args, module=args.module, mpiexec=args.mpiexec,
                            timeout=args.timeout)
    except (FileNotFoundError, ValueError) as exc:
        print(f"gradcnn: error: {exc}", file=sys.stderr)
        return 2
