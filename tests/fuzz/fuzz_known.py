"""Cases of the fuzz tables that fail today, each with what goes wrong: the open work list.

Each is a strict xfail (it fails CI the day it starts to pass, so that it leaves this list with
the fix). The words before the colon say what kind of failure it is:

* ``raw``: a bare Python, NumPy or Numba exception (or a RuntimeWarning) instead of a gradcnn error;
* ``accepts``: gradcnn returns where PyTorch raises;
* ``refuses``: gradcnn raises where PyTorch returns a result (a valid input refused);
* ``family``: both raise, but not in the same built-in family;
* ``value``: both return, with different shapes, dtypes or values;
* ``message``: the error does not name the argument.
"""

KNOWN = {
    "flip-dims=1": "accepts: returned a tensor of shape (2, 3, 4) and dtype float32; torch raises TypeError: flip(): argument 'dims' (position 2) must be tuple of ints, not int",
    "nn.Conv2d-kernel_size=(True,1)": "refuses: raised DTypeError: Conv2d: kernel_size must be an int or a tuple of 2 ints, got (True, 1); torch returns a tensor of shape (2, 6, 8, 8) and dtype torc",
    "reshape-shape=24": "accepts: returned a tensor of shape (24,) and dtype float32; torch raises TypeError: reshape(): argument 'shape' (position 2) must be tuple of ints, not int",
}
