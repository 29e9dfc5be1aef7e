"""Reading and writing IDX files (the MNIST / Fashion-MNIST container), optionally gzipped.

Format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number `00 00 TT NN` where `TT` codes
the element type and `NN` the number of dimensions, then `NN` big-endian uint32 sizes, then the
elements in big-endian C order. Fashion-MNIST images have magic 2051 (ubyte, 3 dims) and labels
2049 (ubyte, 1 dim).
"""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from tfgan_fast.data.base import DataError

_TYPE_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in _TYPE_CODES.items()}

IMAGES_MAGIC = 0x00000803  # 2051: ubyte, [n, rows, cols]
LABELS_MAGIC = 0x00000801  # 2049: ubyte, [n]


def _open(path: str, mode: str):
    # Decide on the content, not the suffix, so a mis-named file still reads.
    if "r" in mode:
        with open(path, "rb") as f:
            is_gzip = f.read(2) == b"\x1f\x8b"
        return gzip.open(path, mode) if is_gzip else open(path, mode)
    return open(path, mode)


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Reads an IDX file (plain or gzipped) into a numpy array.

    Args:
        path: file to read.
        expected_magic: if given, the whole 4-byte magic number must equal it (e.g.
            `IMAGES_MAGIC`), which catches swapped image and label files.

    Returns:
        The array, with the file's shape and native-endian dtype (uint8 for Fashion-MNIST).

    Raises:
        DataError: the file is unreadable, has a bad magic number, or its size does not match
            its header; the message names the file.
    """
    path = os.fspath(path)
    try:
        with _open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read IDX file {path}: {e}") from e
    if len(data) < 4:
        raise DataError(f"IDX file {path} is too short ({len(data)} bytes) to hold a header")
    magic = struct.unpack(">I", data[:4])[0]
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code not in _TYPE_CODES:
        raise DataError(f"IDX file {path} has a bad magic number 0x{magic:08x} "
                        f"(expected 0x0000TTNN with type code TT in "
                        f"{sorted(hex(c) for c in _TYPE_CODES)})")
    if expected_magic is not None and magic != expected_magic:
        raise DataError(f"IDX file {path} has magic number {magic} (0x{magic:08x}), "
                        f"expected {expected_magic} (0x{expected_magic:08x})")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"IDX file {path} is truncated inside its {ndim}-dimension header")
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = _TYPE_CODES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        raise DataError(f"IDX file {path} holds {actual} data bytes but its header {shape} "
                        f"({dtype.name}) needs {expected}")
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Writes `array` as an IDX file; gzipped (with mtime 0, so byte-reproducible) if asked.

    Args:
        path: output file.
        array: uint8, int8, int16, int32, float32 or float64 array of any rank in [1, 255].
        compress: gzip the file; defaults to whether `path` ends in `.gz`.

    Raises:
        ValueError: the dtype or rank cannot be stored in IDX.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                     *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=_TYPE_CODES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    with open(path, "wb") as raw:
        if compress:
            # filename="" and mtime=0 keep the gzip header free of the path and the clock.
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                               compresslevel=9) as f:
                f.write(payload)
        else:
            raw.write(payload)
