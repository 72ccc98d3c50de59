"""The hooks a gradcnn plugin can implement.

A plugin is a module (or any object) holding functions marked ``@gradcnn.hookimpl`` whose names are
the hooks below. Built-ins (``gradcnn/default_plugins/``) and installed distributions that declare
an entry point in the ``gradcnn`` group are loaded the same way::

    # pyproject.toml of a plugin distribution
    [project.entry-points.gradcnn]
    my_layers = "my_layers"

    # my_layers.py
    import gradcnn

    @gradcnn.hookimpl
    def register_layers(register):
        register("Swish", Swish)

A name can be registered once per kind: a second ``register`` of a taken name is an error that names
both plugins, and the plugin that tried is skipped (see ``gradcnn.plugins``).
"""

import pluggy

hookspec = pluggy.HookspecMarker("gradcnn")
hookimpl = pluggy.HookimplMarker("gradcnn")


@hookspec
def register_layers(register):
    """Add layers: call ``register(name, layer_class)`` once per layer.

    ``layer_class(**config)`` must build the layer (a ``gradcnn.nn.Module``);
    ``gradcnn.create_layer(name, **config)`` calls it and ``gradcnn.list_layers()`` lists ``name``.
    Built-in layers are registered under their class names (``"Conv2d"``).
    """


@hookspec
def register_architectures(register):
    """Add model architectures: call ``register(name, factory)`` once per architecture.

    ``factory(**config)`` (a class or a function) must return a model;
    ``gradcnn.create_model(name, **config)`` calls it and ``gradcnn.list_models()`` lists ``name``.
    """


@hookspec
def register_datasets(register):
    """Add datasets: call ``register(name, factory)`` once per dataset.

    ``factory(**config)`` must return the dataset; ``gradcnn.create_dataset(name, **config)`` calls
    it and ``gradcnn.list_datasets()`` lists ``name``.
    """


@hookspec
def register_commands(cli):
    """Add ``gradcnn`` subcommands: call ``cli.add_parser(name, help=..., **kwargs)`` once per command.

    ``cli.add_parser`` takes the arguments of argparse's ``subparsers.add_parser`` and returns an
    ``argparse.ArgumentParser``: add the command's arguments to it and name the function that runs
    it with ``set_defaults(func=run)``. ``run(args)`` gets the parsed ``argparse.Namespace`` and
    returns the exit code (``None`` means 0); a ``gradcnn.GradcnnError`` it raises is printed as a
    one-line error (exit code 1)::

        @gradcnn.hookimpl
        def register_commands(cli):
            hello = cli.add_parser("hello", help="print a greeting")
            hello.add_argument("--name", default="world")
            hello.set_defaults(func=lambda args: print(f"hello {args.name}"))
    """
