"""Where the shipped gin configs are (no TensorFlow import: the CLI checks its flags with it)."""

import os


def _gin_dir():
    """The configs: the repository's `gin/` (a checkout or an editable install), else the copy
    installed beside this module as `tfgan_fast/configs/` (a wheel). The copy is a directory
    without `__init__.py`, a namespace package for `importlib.resources`, whose `files()` gives a
    MultiplexedPath (whose str() is not a path): so the directory is found by its place."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tfgan_fast/
    checkout = os.path.join(os.path.dirname(package), "gin")
    if os.path.isdir(checkout):
        return checkout
    return os.path.join(package, "configs")


GIN_DIR = _gin_dir()


def resolve_gin_file(path):
    """`path` if it exists, else the shipped config it names (`gin/quickstart.gin` or
    `quickstart.gin` -> `GIN_DIR/quickstart.gin`), so the README's commands also work from an
    installed wheel; None if neither exists."""
    if os.path.isfile(path):
        return path
    relative = path[len("gin/"):] if path.startswith("gin/") else path
    shipped = os.path.join(GIN_DIR, relative)
    return shipped if os.path.isfile(shipped) else None
