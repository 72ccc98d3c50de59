"""CPU backend: NumPy for array math; Numba kernels for convolution and pooling live here."""
