"""``gradcnn train`` and ``gradcnn eval``: the main job, on registered models and datasets.

``gradcnn train`` with no arguments trains ``lenet5`` on ``digits`` (shipped with scikit-learn:
nothing is downloaded) and writes ``metrics.json``, ``model.safetensors`` and, when matplotlib is
installed, ``curves.png`` into ``--out``; a checkpoint after every epoch makes ``--resume`` continue
an interrupted run exactly.

``--nproc N`` trains data-parallel on N ranks: the command starts itself N times through
``gradcnn run`` (under ``gradcnn run`` or ``mpiexec`` it joins the job it is in). Each rank reads
its share of every epoch (``DistributedSampler``, seeded with ``--seed``) in batches of
``--batch-size``, so a step sees ``N x --batch-size`` samples; gradients are averaged
(``DistributedDataParallel``), the learning rate is used as given. The test split is divided
between the ranks and the metrics summed over them. Only rank 0 prints and writes
``metrics.json`` (with ``"world_size": N``), the checkpoint, the weights and the curves; the
checkpoint holds the bare model, so ``--resume`` works with any N.
"""

import json
import pathlib
import sys
import time

import gradcnn
from gradcnn.cli import non_negative_int, positive_float, positive_int, writable_directory


@gradcnn.hookimpl
def register_commands(cli):
    train = cli.add_parser("train", help="train a registered model on a registered dataset",
                           description=__doc__.splitlines()[0])
    train.add_argument("model", nargs="?", default="lenet5", help="architecture name (default lenet5)")
    train.add_argument("--dataset", default="digits", help="dataset name (default digits)")
    train.add_argument("--epochs", type=positive_int, default=15)
    train.add_argument("--batch-size", type=positive_int, default=32)
    train.add_argument("--lr", type=positive_float, default=0.05)
    train.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                       help="sgd (momentum 0.9, the default) or adam")
    train.add_argument("--schedule", choices=("cosine", "constant"), default="cosine",
                       help="learning rate over the epochs: cosine decay to 0 (default) or constant")
    train.add_argument("--no-augment", action="store_true",
                       help="train on the images as they are (default: random shifts of up to 2 pixels)")
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    train.add_argument("--seed", type=non_negative_int, default=0)
    train.add_argument("--data-dir", default=None, help="where IDX files are (mnist, fashion-mnist)")
    train.add_argument("--out", default="runs/latest", help="output directory (default runs/latest)")
    train.add_argument("--resume", action="store_true",
                       help="continue from OUT/checkpoint.safetensors (give the same --epochs: the cosine "
                            "schedule spans the epochs first asked for)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--nproc", type=positive_int, default=None, metavar="N",
                       help="train data-parallel on N ranks started through MPI (global batch N x --batch-size)")
    train.set_defaults(func=_train, relaunch_parser=train)

    ev = cli.add_parser("eval", help="evaluate saved weights on a dataset's test split")
    ev.add_argument("model")
    ev.add_argument("--weights", required=True, help="a model.safetensors written by gradcnn train")
    ev.add_argument("--dataset", default="digits")
    ev.add_argument("--batch-size", type=positive_int, default=256)
    ev.add_argument("--data-dir", default=None)
    ev.set_defaults(func=_eval)


def _datasets(name, data_dir, augment=False):
    """The train and test splits; with ``augment`` the training images are shifted at random by up
    to 2 pixels each time they are read (a padded random crop of their own size)."""
    from gradcnn.data import TransformDataset
    from gradcnn.data.transforms import RandomCrop

    config = {} if data_dir is None else {"data_dir": data_dir}
    train = gradcnn.create_dataset(name, split="train", **config)
    if augment and len(getattr(train, "input_shape", ())) == 3 and min(train.input_shape[1:]) >= 8:
        train = TransformDataset(train, RandomCrop(train.input_shape[1:], padding=2))
    test = gradcnn.create_dataset(name, split="test", **config)
    return train, test


def _model_for(name, dataset):
    channels = dataset.input_shape[0]
    return gradcnn.create_model(name, num_classes=len(dataset.classes), in_channels=channels)


def _job_size():
    """The number of ranks of the MPI job this process belongs to, as its launcher says (1 outside one)."""
    from gradcnn.distributed.worker import rank_from_environment

    return rank_from_environment()[1] or 1


def _command_line(args):
    """``args`` back as the command line that parsed them (for the ranks to parse again)."""
    argv = []
    for action in args.relaunch_parser._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings:
            argv.append(str(value))
        elif action.nargs == 0:  # a flag
            if value:
                argv.append(action.option_strings[0])
        elif value is not None:
            argv += [action.option_strings[0], str(value)]
    return argv


def _train(args):
    import gradcnn.distributed as dist
    import gradcnn.functional as F
    from gradcnn import optim
    from gradcnn.data import DataLoader
    from gradcnn.io import save
    from gradcnn.nn.parallel import DistributedDataParallel
    from gradcnn.train import evaluate, fit
    from gradcnn.utils.data import DistributedSampler, Subset

    job = _job_size()
    if args.nproc is not None and args.nproc < 1:
        raise gradcnn.errors.ShapeError(f"train: --nproc must be at least 1, got {args.nproc}")
    if args.nproc is not None and job > 1 and args.nproc != job:
        raise gradcnn.errors.ShapeError(f"train: --nproc {args.nproc} but this job has {job} ranks")
    if args.nproc is not None and args.nproc > 1 and job == 1:
        from gradcnn.distributed import run

        try:
            return run.run(args.nproc, "gradcnn", ["train", *_command_line(args)], module=True)
        except FileNotFoundError as exc:  # no MPI launcher
            print(f"gradcnn: error: {exc}", file=sys.stderr)
            return 2
    world, rank, device = job, 0, args.device
    if world > 1:
        # NCCL for GPUs when CuPy has it (one GPU per rank); otherwise MPI, through host copies.
        nccl = gradcnn.backends.parse_device(args.device).startswith("cuda") and dist.is_nccl_available()
        dist.init_process_group("nccl" if nccl else "mpi")
        rank = dist.get_rank()
        if nccl:
            device = dist.process_group._get_default_group().backend.device
    out = pathlib.Path(args.out)
    if rank == 0:
        writable_directory(args.relaunch_parser, args.out)
    gradcnn.manual_seed(args.seed)
    started = time.perf_counter()
    train_set, test_set = _datasets(args.dataset, args.data_dir, augment=not args.no_augment)
    model = _model_for(args.model, train_set).to(device)
    if world > 1:
        model = DistributedDataParallel(model)
    if args.optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    else:
        opt = optim.Adam(model.parameters(), lr=args.lr)
    if world > 1:
        sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
        train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
        test_loader = DataLoader(Subset(test_set, range(rank, len(test_set), world)), batch_size=256)
    else:
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
        test_loader = DataLoader(test_set, batch_size=256)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs) if args.schedule == "cosine" else None
    history = fit(model, train_loader, optimizer=opt, loss=F.cross_entropy, epochs=args.epochs,
                  val_loader=test_loader, scheduler=schedule, checkpoint=str(out / "checkpoint.safetensors"),
                  resume=args.resume, progress=not args.no_progress)
    final = evaluate(model, test_loader, F.cross_entropy)
    if rank == 0:
        metrics = {"model": args.model, "dataset": args.dataset, "epochs": history,
                   "test_accuracy": final["accuracy"], "test_loss": final["loss"],
                   "seconds": time.perf_counter() - started, "seed": args.seed, "world_size": world,
                   "global_batch_size": world * args.batch_size}
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        bare = model.module if world > 1 else model
        save(bare.state_dict(), str(out / "model.safetensors"),
             metadata={"architecture": args.model, "num_classes": len(train_set.classes),
                       "in_channels": train_set.input_shape[0]})
        _curves(history, out / "curves.png")
        print(f"test accuracy {final['accuracy']:.2%} in {metrics['seconds']:.1f} s"
              + (f" on {world} ranks" if world > 1 else "") + f"; wrote {out}")
    if world > 1:
        dist.destroy_process_group()
    return 0


def _curves(history, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, [r["train_loss"] for r in history], label="train")
    right.plot(epochs, [r["train_accuracy"] for r in history], label="train")
    if history and "val_loss" in history[0]:
        left.plot(epochs, [r["val_loss"] for r in history], label="test")
        right.plot(epochs, [r["val_accuracy"] for r in history], label="test")
    left.set(xlabel="epoch", ylabel="loss")
    right.set(xlabel="epoch", ylabel="accuracy")
    left.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _eval(args):
    import gradcnn.functional as F
    from gradcnn.data import DataLoader
    from gradcnn.io import load
    from gradcnn.train import evaluate

    config = {} if args.data_dir is None else {"data_dir": args.data_dir}
    test_set = gradcnn.create_dataset(args.dataset, split="test", **config)
    model = _model_for(args.model, test_set)
    model.load_state_dict(load(args.weights))
    result = evaluate(model, DataLoader(test_set, batch_size=args.batch_size), F.cross_entropy)
    print(json.dumps(result))
    return 0
