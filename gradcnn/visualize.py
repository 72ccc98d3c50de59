"""Pictures of what a network learned: its first filters, its feature maps, the receptive fields
of its stages and the evidence behind one prediction.

``gradcnn.visualize.visualize(model, image, out_dir)`` traces one image through any model and
writes four PNG files (``gradcnn visualize`` on the command line does the same from a checkpoint
and a dataset):

* ``filters.png``: the first convolution's kernels as a grid, on a diverging colour map centred
  at zero (blue negative, white zero, red positive), each kernel stretched to its own largest
  magnitude (written under it) unless ``scale="common"``; kernels with 3 input channels are drawn
  as RGB images with grey at zero;
* ``feature_maps.png``: a row per convolution stage, the 8 most active channels of its output;
* ``receptive_field.png``: the input once per stage, with the receptive field of the stage's
  centre unit drawn as a box (from :func:`gradcnn.receptive_field`) and the pixels where that
  unit's input gradient is non-zero shaded;
* ``saliency.png``: the input, its input-gradient saliency and Grad-CAM for the predicted class.

**Stages come from the traced graph, not from layer names.** One forward pass in eval mode runs
inside :func:`gradcnn.autograd.function.observe_calls`; every primitive call is seen with its
inputs and outputs. A tensor's *level* is the number of downsampling steps between it and the
input (the largest over its inputs, plus one if the call that made it downsamples: a convolution
with a stride above 1, or a pooling call whose output is smaller than its input). The outputs of
the convolution calls, grouped by level, are the stages: conv-ReLU-pool-conv-ReLU-pool has two,
Inception v3 five (the stride-2 stem, the two 1x1/3x3 convolutions between the pools, then the
35x35, 17x17 and 8x8 blocks), and a parallel stride-2 branch lands on the same level as its
sibling. A stage's *activation* is what leaves it: of the tensors at that level that some
downsampling call takes, the earliest made (the block output the next stage starts from, after
its ReLU), or, when nothing downsamples it, the last tensor made at that level.

**Receptive fields.** Each stage's box is the field :func:`gradcnn.receptive_field` gives the
layer whose output is the stage's activation; an activation that no layer returns (the ``cat``
of Inception branches) takes, per axis, the largest field among the layers it is computed from.
The shaded pixels are the support of ``d(sum over channels of the centre unit) / d input``, so
the picture checks one against the other. The support is compared with the box cut at the
image border (zero padding sees nothing there): in a linear stack of convolutions and average
pools it fills the box exactly; ReLU and max pooling pass gradient through some paths only, so
there it may lie inside the box. Each panel says which: ``= box``, ``inside box`` or ``OUTSIDE
box`` (the field missed a path, such as a convolution called through ``gradcnn.functional`` in a
custom ``forward``, which ``receptive_field`` cannot see).

**Saliency** is ``max over channels of |d score / d input|`` (Simonyan et al., 2014), the score
being the predicted class's logit. **Grad-CAM** (Selvaraju et al., 2017) on a map ``A`` (``K x h x
w``) is ``relu(sum_k alpha_k A_k)`` with ``alpha_k`` the spatial mean of ``d score / d A_k``; ``A``
is the last stage's activation unless ``layer`` names a module, whose output then also gets a row
of feature maps. It is drawn stretched over the input.

**Sizes.** Pictures are drawn at 100 dpi on fixed grids, so their sizes in pixels are known in
advance (width x height): ``filters.png`` ``cols * 96 (+ 56 for the colour bar unless RGB) x 28 +
rows * 116`` for ``n`` kernels, ``cols = ceil(sqrt(n))``, ``rows = ceil(n / cols)``; at most 64
kernels (for other than 1 or 3 input channels each (output, input) slice is one kernel, in
order). ``feature_maps.png`` ``896 x 28 + rows * 132``; ``receptive_field.png`` ``stages * 224 x
272``; ``saliency.png`` ``672 x 272``.

The model runs in eval mode (batch norms use their running statistics, dropout is off) and
is handed back in the mode it came in. Drawing needs matplotlib (the ``examples`` and ``test``
extras), imported when a picture is made; its Agg renderer writes the files and no window or
global pyplot state is touched. The analysis (:func:`trace`, :func:`stage_fields`,
:func:`grad_cam`, :func:`saliency`) does not need it. Images are ``(C, H, W)`` (or ``(1, C, H,
W)``); models of 1-D signals are not covered.
"""

import dataclasses
import difflib
import math
import os

import numpy as np

from .autograd import enable_grad, grad
from .autograd.function import observe_calls
from .autograd.tape import OutputRef
from .errors import DTypeError, ShapeError, UnknownNameError
from .introspect import receptive_field
from .nn import Module
from .ops.conv import Conv
from .ops.pool import AvgPool, MaxPool
from .tensor import Tensor

__all__ = ["Stage", "Trace", "trace", "stage_fields", "field_box", "centre_unit", "gradient_support",
           "grad_cam", "saliency", "plot_filters", "plot_feature_maps", "plot_receptive_fields",
           "plot_saliency", "visualize"]

DPI = 100
FILTER_PANEL, MAP_PANEL, IMAGE_PANEL = 96, 112, 224  # pixels per grid cell
LABEL, TITLE, BAR = 20, 28, 56  # caption strip above each row, title strip, colour bar column
MAX_FILTERS, MAX_MAPS = 64, 8


@dataclasses.dataclass
class Stage:
    """One convolution stage of a traced model."""

    level: int  # downsampling steps between the input and this stage
    convs: list  # its convolution calls, in call order: module names ("functional conv" for F.conv2d)
    name: str  # what made the activation: a module name, or the primitive's name
    activation: Tensor  # (1, C, h, w), in the traced graph
    field: tuple  # ((r_h, r_w), (jump_h, jump_w), (start_h, start_w)), in input pixels


@dataclasses.dataclass
class Trace:
    """One image traced through a model: the graph is kept, so gradients can still be taken."""

    input: Tensor  # (1, C, H, W), requires grad
    logits: Tensor  # (1, classes)
    stages: list  # of Stage
    first_weight: np.ndarray  # the first convolution's kernels (out, in // groups, kh, kw)
    layer: tuple | None  # (name, its output) when a layer was asked for

    @property
    def predicted(self):
        return int(np.asarray(self.logits)[0].argmax())

    def cam_map(self):
        """``(name, activation)`` that Grad-CAM uses: the named layer, else the last stage."""
        if self.layer is not None:
            return self.layer
        last = self.stages[-1]
        return last.name, last.activation


# -- tracing ------------------------------------------------------------------------------------


def trace(model, image, layer=None):
    """Run ``image`` (``(C, H, W)`` or ``(1, C, H, W)``) through ``model`` in eval mode, recording
    every primitive call, and return a :class:`Trace`: the stages (see the module docstring) with
    their receptive fields, the first convolution's kernels and, if ``layer`` names a module
    (``"features.3"``, ``"Mixed_7c"``), that module's output. The model's mode and its
    parameters' ``requires_grad`` are restored afterwards."""
    if not isinstance(model, Module):
        raise DTypeError(f"visualize: model must be a gradcnn.nn.Module, got {type(model).__name__}")
    x = _as_input(model, image)
    names = {}
    for name, m in model.named_modules():
        names.setdefault(id(m), name or type(m).__name__)
    target = _find_layer(model, layer) if layer is not None else None
    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    leaf_calls = []  # (module name, output tensor), in call order, as gradcnn.receptive_field records them
    captured = []
    calls = []  # (fn, tensor inputs, kwargs, outputs)

    def observe(fn, args, kwargs, result):
        outs = result if isinstance(result, tuple) else (result,)
        calls.append((fn, [a for a in args if isinstance(a, Tensor)], kwargs, outs))

    def wrap(module, original):
        def forward(*args, **kwargs):
            out = original(*args, **kwargs)
            first = out[0] if isinstance(out, (tuple, list)) and out else out
            if module is target and isinstance(first, Tensor):
                captured.append(first)
            if isinstance(first, Tensor):
                made_by.setdefault(id(first), names[id(module)])  # the innermost module first
            if id(module) in leaf_ids and isinstance(first, Tensor) and any(isinstance(a, Tensor) for a in args):
                leaf_calls.append((names[id(module)], first))
            return out

        return forward

    leaf_ids = {id(m) for m in leaves}
    made_by = {}  # id(tensor) -> the name of the module that returned it
    saved = [(m, m.__dict__.get("forward"), m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _ in flags:  # gradients are wanted for the input and the maps, not the weights
            p.requires_grad_(False)
        for m in model.modules():
            if m is not model:
                object.__setattr__(m, "forward", wrap(m, m.forward))
        with enable_grad(), observe_calls(observe):
            out = model(x)
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        for m, forward, training in saved:
            if forward is None:
                m.__dict__.pop("forward", None)
            else:
                object.__setattr__(m, "forward", forward)
            object.__setattr__(m, "training", training)
    logits = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(logits, Tensor) or logits.ndim != 2 or logits.shape[0] != 1:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ShapeError(f"visualize: the model must map one image to class scores (1, classes); "
                         f"it returned {shape}")
    layer_out = None
    if target is not None:
        if not captured:
            raise ShapeError(f"visualize: layer {layer!r} was not called in the forward pass")
        if captured[-1].ndim != 4:
            raise ShapeError(f"visualize: layer {layer!r} returns shape {tuple(captured[-1].shape)}, "
                             f"not a (1, C, H, W) map that Grad-CAM and feature maps need")
        layer_out = (layer, captured[-1])
    stages, first_weight = _stages(x, calls, made_by)
    if not stages:
        raise ShapeError(f"visualize: {type(model).__name__} made no 2-D convolution call on a "
                         f"{tuple(x.shape)} input; there is nothing to show")
    _fields(model, x, stages, leaf_calls)
    return Trace(x, logits, stages, first_weight, layer_out)


def _as_input(model, image):
    if not isinstance(image, Tensor):
        image = Tensor(np.asarray(image))
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[0] != 1:
        raise ShapeError(f"visualize: image must be (C, H, W) or (1, C, H, W), got shape {tuple(image.shape)}")
    param = next((p for p in model.parameters() if p.dtype.kind == "f"), None)
    dtype = param.dtype if param is not None else np.float32
    if image.dtype.kind not in "fiub":
        raise DTypeError(f"visualize: image must hold numbers, got dtype {image.dtype}")
    x = image.detach().to(dtype=dtype)
    if param is not None:
        x = x.to(param.device)
    return x.clone().requires_grad_()


def _find_layer(model, layer):
    modules = dict(model.named_modules())
    modules.pop("", None)
    if layer in modules:
        return modules[layer]
    close = difflib.get_close_matches(str(layer), list(modules), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownNameError(f"visualize: {type(model).__name__} has no module named {layer!r}{hint} "
                           f"(its {len(modules)} modules are listed by model.named_modules())")


def _spatial(t):
    return tuple(t.shape[2:]) if t.ndim == 4 else None


def _downsamples(fn, kwargs, source, out):
    if fn is Conv:
        return any(s > 1 for s in kwargs["geom"].stride)
    if fn is MaxPool or fn is AvgPool:
        return _spatial(out) != _spatial(source)
    return False


def _stages(x, calls, names):
    """Group the convolution calls into stages by level and find each stage's activation
    (``names``: id(tensor) -> the module that returned it)."""
    level = {id(x): 0}
    born = {id(x): -1}
    convs = {}  # level -> names, in order of first appearance
    leaving = {}  # level -> tensors of that level some downsampling call takes
    last = {}  # level -> the last 4-D tensor made at that level
    first_weight = None
    for i, (fn, args, kwargs, outs) in enumerate(calls):
        inputs = [t for t in args if id(t) in level]
        if not inputs:  # does not depend on the image (a weight reshaped for batch norm, say)
            continue
        lvl = max(level[id(t)] for t in inputs)
        source = next((t for t in inputs if t.ndim == 4), None)
        down = source is not None and _downsamples(fn, kwargs, source, outs[0])
        for out in outs:
            level[id(out)], born[id(out)] = lvl + down, i
            if out.ndim == 4 and out.dtype.kind == "f":
                last[lvl + down] = out
        if fn is Conv and outs[0].ndim == 4:
            convs.setdefault(lvl + down, []).append(names.get(id(outs[0]), "functional conv"))
            if first_weight is None:
                first_weight = np.array(args[1])  # a copy; Conv.apply(x, weight, bias)
        if down:
            for t in inputs:
                if t.ndim == 4:
                    leaving.setdefault(level[id(t)], []).append(t)
    stages = []
    for lvl, conv_names in convs.items():
        candidates = [t for t in leaving.get(lvl, []) if level[id(t)] == lvl]
        activation = min(candidates, key=lambda t: born[id(t)]) if candidates else last[lvl]
        name = names.get(id(activation))
        if name is None:
            maker = next((c[0] for c in calls if any(o is activation for o in c[3])), None)
            name = maker.__name__.lower() if maker is not None else "input"
        stages.append(Stage(lvl, conv_names, name, activation, None))
    if first_weight is None:
        first_weight = np.zeros((0, 0, 0, 0), dtype=np.float32)
    return stages, first_weight


def _fields(model, x, stages, leaf_calls):
    """Give each stage the field :func:`gradcnn.receptive_field` found for the layer that made its
    activation (or, per axis, the largest among the layers it is computed from)."""
    records, _ = receptive_field(model, x.detach())
    ours = [(name, tuple(t.shape[1:])) for name, t in leaf_calls]
    theirs = [(r.name, r.output_shape) for r in records]
    if ours != theirs:
        raise ShapeError(f"visualize: the traced pass and gradcnn.receptive_field's pass called "
                         f"different layers ({len(ours)} and {len(theirs)} calls); is the model's "
                         f"forward deterministic in eval mode?")
    by_node = {}
    by_tensor = {}
    for k, (_name, t) in enumerate(leaf_calls):
        by_tensor[id(t)] = k
        if t._node is not None:
            by_node[id(t._node)] = k
    root = ((1, 1), (1, 1), (0, 0))
    for stage in stages:
        a = stage.activation
        if id(a) in by_tensor:
            found = [by_tensor[id(a)]]
        else:
            found, stack, seen = [], [a._node], set()
            while stack:
                node = stack.pop()
                if node is None or id(node) in seen:
                    continue
                seen.add(id(node))
                if id(node) in by_node:
                    found.append(by_node[id(node)])
                    continue
                if type(node) is OutputRef:
                    stack.append(node.node)
                    continue
                stack.extend(e for e in node.edges if e is not None and not isinstance(e, Tensor))
        fields = [(records[k].rf, records[k].jump, records[k].start) for k in found
                  if records[k].rf is not None and len(records[k].rf) == 2]
        if not fields:
            stage.field = root
            continue
        axes = [max(fields, key=lambda f, i=i: f[0][i]) for i in range(2)]
        stage.field = tuple(tuple(axes[i][part][i] for i in range(2)) for part in range(3))


# -- analysis -----------------------------------------------------------------------------------


def field_box(field, unit):
    """Input pixel rows and columns ``((top, bottom), (left, right))``, inclusive, that unit
    ``(i, j)`` of a map with receptive field ``field`` (``(r, jump, start)`` per axis, as
    :func:`gradcnn.receptive_field` gives) sees; they may reach past the image."""
    r, jump, start = field
    box = []
    for axis in range(2):
        centre = start[axis] + unit[axis] * jump[axis]
        half = (r[axis] - 1) / 2
        box.append((math.ceil(centre - half - 1e-9), math.floor(centre + half + 1e-9)))
    return tuple(box)


def centre_unit(stage):
    """The ``(i, j)`` of the stage's centre unit: ``((h - 1) // 2, (w - 1) // 2)``."""
    h, w = stage.activation.shape[2:]
    return (h - 1) // 2, (w - 1) // 2


def gradient_support(tr, stage):
    """Where the input gradient of ``stage``'s centre unit (summed over channels) is non-zero:
    a boolean ``(H, W)`` array (summed over input channels)."""
    i, j = centre_unit(stage)
    (g,) = grad(stage.activation[0, :, i, j].sum(), tr.input, retain_graph=True)
    return np.abs(np.asarray(g)[0]).sum(0) > 0


def _score(tr, target):
    target = tr.predicted if target is None else int(target)
    classes = tr.logits.shape[1]
    if not 0 <= target < classes:
        raise ShapeError(f"visualize: target class {target} is outside the model's {classes} classes")
    return target, tr.logits[0, target]


def saliency(tr, target=None):
    """``max over channels of |d score / d input|``, ``(H, W)``, for class ``target`` (default:
    the predicted one)."""
    _, score = _score(tr, target)
    (g,) = grad(score, tr.input, retain_graph=True)
    return np.abs(np.asarray(g)[0]).max(0)


def grad_cam(tr, target=None):
    """Grad-CAM ``relu(sum_k alpha_k A_k)`` on :meth:`Trace.cam_map` for class ``target``
    (default: the predicted one): an ``(h, w)`` array at the map's resolution, not normalised."""
    _, score = _score(tr, target)
    _, a = tr.cam_map()
    (g,) = grad(score, a, retain_graph=True, allow_unused=True)
    if g is None:
        return np.zeros(a.shape[2:], dtype=np.float64)
    alpha = np.asarray(g)[0].astype(np.float64).mean((1, 2))
    cam = np.tensordot(alpha, np.asarray(a)[0].astype(np.float64), axes=1)
    return np.maximum(cam, 0.0)


# -- drawing ------------------------------------------------------------------------------------


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError as exc:
        raise ImportError("gradcnn.visualize: drawing pictures needs matplotlib, which is not "
                          "installed: pip install matplotlib (or gradcnn[examples])") from exc
    return Figure, FigureCanvasAgg, Rectangle


class _Grid:
    """A figure of ``rows x cols`` square panels of ``panel`` pixels, each under a caption strip,
    below a title strip, with an optional colour bar column on the right."""

    def __init__(self, rows, cols, panel, title, bar=False):
        figure, canvas, self.Rectangle = _matplotlib()
        self.rows, self.cols, self.panel = rows, cols, panel
        self.width = cols * panel + (BAR if bar else 0)
        self.height = TITLE + rows * (panel + LABEL)
        self.fig = figure(figsize=(self.width / DPI, self.height / DPI), dpi=DPI)
        canvas(self.fig)
        self.fig.text(0.5, 1 - TITLE / 2 / self.height, title, ha="center", va="center", fontsize=8)

    def axes(self, row, col, pad=3):
        left = col * self.panel + pad
        top = TITLE + row * (self.panel + LABEL) + LABEL + pad
        size = self.panel - 2 * pad
        ax = self.fig.add_axes([left / self.width, 1 - (top + size) / self.height,
                                size / self.width, size / self.height])
        ax.set_xticks([])
        ax.set_yticks([])
        return ax

    def caption(self, row, col, text, span=1, size=7):
        x = (col + span / 2) * self.panel / self.width
        y = 1 - (TITLE + row * (self.panel + LABEL) + LABEL / 2) / self.height
        self.fig.text(x, y, text, ha="center", va="center", fontsize=size, linespacing=1.0)

    def bar(self, image):
        top, bottom = TITLE + LABEL, self.height - 8
        ax = self.fig.add_axes([(self.width - BAR + 8) / self.width, 1 - bottom / self.height,
                                14 / self.width, (bottom - top) / self.height])
        self.fig.colorbar(image, cax=ax)
        ax.tick_params(labelsize=6)

    def save(self, path):
        self.fig.savefig(os.fspath(path), dpi=DPI)
        return path


def _display(image):
    """An image ``(C, H, W)`` as matplotlib shows it: ``(H, W)`` grey, or ``(H, W, 3)`` RGB scaled
    to [0, 1]."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 4:
        image = image[0]
    if image.shape[0] == 3:
        rgb = image.transpose(1, 2, 0)
        low, high = rgb.min(), rgb.max()
        return (rgb - low) / (high - low) if high > low else np.zeros_like(rgb)
    return image[0]


def _show_image(ax, image):
    shown = _display(image)
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, interpolation="nearest")


def plot_filters(weight, path=None, title="first convolution", scale="each"):
    """Draw convolution kernels ``(out, in, kh, kw)`` as a grid (see the module docstring for the
    layout); save to ``path`` if given; return the matplotlib Figure.

    ``scale="each"`` (the default) stretches every kernel to its own largest magnitude, so weak
    kernels show their shape too, and writes that magnitude under it; ``"common"`` puts all on
    one scale, so their strengths compare. Zero is white (grey for RGB kernels) either way."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 4 or w.size == 0:
        raise ShapeError(f"plot_filters: weight must be (out, in, kh, kw) kernels, got shape {w.shape}")
    if scale not in ("each", "common"):
        raise ShapeError(f"plot_filters: scale must be 'each' or 'common', got {scale!r}")
    rgb = w.shape[1] == 3
    if rgb:
        tiles = [(str(o), w[o].transpose(1, 2, 0)) for o in range(w.shape[0])]
    else:
        tiles = [(str(o) if w.shape[1] == 1 else f"{o}:{i}", w[o, i])
                 for o in range(w.shape[0]) for i in range(w.shape[1])]
    tiles = tiles[:MAX_FILTERS]
    common = float(np.abs(w).max()) or 1.0
    cols = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    suffix = ", RGB, grey = 0" if rgb else ("" if scale == "each" else f", \u00b1{common:.2g}")
    grid = _Grid(rows, cols, FILTER_PANEL, f"{title} ({w.shape[2]}x{w.shape[3]}{suffix})", bar=not rgb)
    image = None
    for n, (label, tile) in enumerate(tiles):
        row, col = divmod(n, cols)
        ax = grid.axes(row, col)
        top = (float(np.abs(tile).max()) or 1.0) if scale == "each" else common
        if rgb:
            ax.imshow(np.clip(0.5 + 0.5 * tile / top, 0, 1), interpolation="nearest")
        else:
            image = ax.imshow(tile / top, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        grid.caption(row, col, f"{label}: \u00b1{top:.2g}" if scale == "each" else label)
    if image is not None:
        grid.bar(image)
    if path is not None:
        grid.save(path)
    return grid.fig


def _map_rows(tr):
    rows = []
    for n, s in enumerate(tr.stages):
        convs = f"{s.convs[0]}" if len(s.convs) == 1 else f"{len(s.convs)} convolutions from {s.convs[0]}"
        rows.append((f"stage {n + 1} ({convs}): output of {s.name}", s.activation))
    if tr.layer is not None:
        rows.append((f"layer {tr.layer[0]}", tr.layer[1]))
    return rows


def plot_feature_maps(tr, path=None):
    """A row per stage (and one for the named layer): the ``MAX_MAPS`` channels of its activation
    with the largest mean, each on its own colour scale."""
    rows = _map_rows(tr)
    grid = _Grid(len(rows), MAX_MAPS, MAP_PANEL, "feature maps: the most active channels of each stage")
    for row, (label, a) in enumerate(rows):
        maps = np.asarray(a)[0].astype(np.float64)
        order = np.argsort(-maps.mean((1, 2)), kind="stable")[:MAX_MAPS]
        grid.caption(row, 0, f"{label}  ({'x'.join(map(str, maps.shape))})", span=MAX_MAPS)
        for col, c in enumerate(order):
            ax = grid.axes(row, col)
            ax.imshow(maps[c], cmap="viridis", interpolation="nearest")
            ax.text(0.03, 0.97, str(c), transform=ax.transAxes, ha="left", va="top", fontsize=6,
                    color="white", bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "linewidth": 0})
    if path is not None:
        grid.save(path)
    return grid.fig


def _agreement(support, box):
    """``"= box"``, ``"inside box"`` or ``"OUTSIDE box"``: the gradient support against the box
    (clipped to the image)."""
    h, w = support.shape
    (top, bottom), (left, right) = box
    inside = np.zeros_like(support)
    inside[max(top, 0):min(bottom, h - 1) + 1, max(left, 0):min(right, w - 1) + 1] = True
    if (support & ~inside).any():
        return "OUTSIDE box"
    return "= box" if (support == inside).all() else "inside box"


def stage_fields(tr):
    """Per stage: ``(box, support, agreement)`` for its centre unit (see :func:`field_box`,
    :func:`gradient_support`)."""
    out = []
    for stage in tr.stages:
        box = field_box(stage.field, centre_unit(stage))
        support = gradient_support(tr, stage)
        out.append((box, support, _agreement(support, box)))
    return out


def plot_receptive_fields(tr, path=None, fields=None):
    """The input once per stage, with the box of the centre unit's receptive field and its
    gradient support shaded (``fields`` from :func:`stage_fields`, computed if not given)."""
    fields = stage_fields(tr) if fields is None else fields
    grid = _Grid(1, len(tr.stages), IMAGE_PANEL,
                 "centre units: receptive field (box), non-zero input gradient (orange)")
    h, w = tr.input.shape[2:]
    for col, (stage, (box, support, agree)) in enumerate(zip(tr.stages, fields)):
        ax = grid.axes(0, col)
        _show_image(ax, tr.input)
        shade = np.zeros((h, w, 4))
        shade[support] = (1.0, 0.55, 0.0, 0.55)
        ax.imshow(shade, interpolation="nearest")
        (top, bottom), (left, right) = box
        ax.add_patch(grid.Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                                    fill=False, edgecolor="cyan", linewidth=1.5))
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)
        r = stage.field[0]
        size = str(r[0]) if r[0] == r[1] else f"{r[0]}x{r[1]}"
        grid.caption(0, col, f"stage {col + 1}: {stage.name}, RF {size}\ngradient support {agree}", size=6.5)
    if path is not None:
        grid.save(path)
    return grid.fig


def plot_saliency(tr, path=None, target=None, class_names=None, label=None):
    """Three panels: the input, its saliency and Grad-CAM for class ``target`` (default: the
    predicted one) laid over it."""
    target, _ = _score(tr, target)
    probs = np.asarray(tr.logits)[0].astype(np.float64)
    probs = np.exp(probs - probs.max())
    probs /= probs.sum()

    def called(c):
        return str(class_names[c]) if class_names is not None and c < len(class_names) else str(c)

    title = f"class {called(target)} (p = {probs[target]:.2f})"
    if label is not None:
        title += f", true label {called(int(label))}"
    grid = _Grid(1, 3, IMAGE_PANEL, title)
    h, w = tr.input.shape[2:]
    ax = grid.axes(0, 0)
    _show_image(ax, tr.input)
    grid.caption(0, 0, "input")
    ax = grid.axes(0, 1)
    ax.imshow(saliency(tr, target), cmap="magma", interpolation="nearest")
    grid.caption(0, 1, "saliency |d score / d input|")
    ax = grid.axes(0, 2)
    _show_image(ax, tr.input)
    cam = grad_cam(tr, target)
    top = cam.max()
    ax.imshow(cam / top if top > 0 else cam, cmap="jet", alpha=0.5, vmin=0, vmax=1,
              extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="bilinear")
    grid.caption(0, 2, f"Grad-CAM on {tr.cam_map()[0]}")
    if path is not None:
        grid.save(path)
    return grid.fig


def visualize(model, image, out_dir, *, layer=None, target=None, label=None, class_names=None):
    """Trace ``image`` through ``model`` and write ``filters.png``, ``feature_maps.png``,
    ``receptive_field.png`` and ``saliency.png`` into ``out_dir`` (created if missing). Returns
    a dict: the four paths, the predicted class and, per stage, its name, shape, receptive field,
    the centre unit's box and whether the gradient support agrees with it."""
    tr = trace(model, image, layer=layer)
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, f"{name}.png")
             for name in ("filters", "feature_maps", "receptive_field", "saliency")}
    figures = []
    figures.append(plot_filters(tr.first_weight, paths["filters"]))
    figures.append(plot_feature_maps(tr, paths["feature_maps"]))
    fields = stage_fields(tr)
    figures.append(plot_receptive_fields(tr, paths["receptive_field"], fields))
    figures.append(plot_saliency(tr, paths["saliency"], target, class_names, label))
    for fig in figures:
        fig.clear()
    stages = [{"name": s.name, "convs": len(s.convs), "shape": tuple(s.activation.shape[1:]),
               "receptive_field": s.field[0], "box": box, "gradient": agree}
              for s, (box, _support, agree) in zip(tr.stages, fields)]
    return {**paths, "predicted": tr.predicted, "stages": stages}
