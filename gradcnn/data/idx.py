"""The IDX file format of MNIST and Fashion-MNIST, plain or gzipped.

An IDX file is a 4-byte magic number ``0 0 <dtype code> <number of dims>``, one big-endian uint32
per dim, then the values, big-endian, row-major.
"""

import gzip
import math
import zlib

import numpy as np

from ..errors import DatasetError

__all__ = ["read_idx"]

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """The array an IDX file holds (native byte order). Gzipped files are recognised by their
    content, whatever their name. Raises :class:`~gradcnn.errors.DatasetError` for a file that is
    missing, not IDX, or whose size does not match its header."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError as exc:
        raise DatasetError(f"read_idx: no file {str(path)!r}") from exc
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"read_idx: {str(path)!r} is a damaged or truncated gzip file ({exc})") from exc
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] not in DTYPES:
        codes = ", ".join(f"0x{code:02X}" for code in DTYPES)
        raise DatasetError(f"read_idx: {str(path)!r} is not an IDX file: its magic bytes are {raw[:4].hex(' ')} "
                           f"where 00 00 <dtype code: one of {codes}> <number of dims> was expected")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"read_idx: {str(path)!r} is truncated: its header declares {ndim} dims "
                           f"({header} bytes) but the file holds {len(raw)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
    dtype = np.dtype(DTYPES[raw[2]])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise DatasetError(f"read_idx: {str(path)!r} is {what}: shape {shape} of {dtype.newbyteorder('=')} "
                           f"needs {header} + {expected - header} = {expected} bytes, the file holds {len(raw)}")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))
