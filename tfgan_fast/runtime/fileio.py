"""Writing output directories so that readers never see a half-written one."""

import os
import shutil
import tempfile


def replace_dir_atomically(path, write):
    """Calls `write(tmp_dir)` on a fresh sibling directory, then swaps it in as `path`.

    A crash while writing leaves `path` as it was (an earlier export stays usable); the swap is two
    renames within one directory.

    Returns:
        The absolute `path`.
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}-", dir=parent)
    os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the result from other users of a cluster
    try:
        write(tmp)
        if os.path.exists(path):
            old = tmp + ".old"
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return path
