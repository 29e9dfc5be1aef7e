"""What the tests share: tiny networks and trainers, offline data, the two-CPU strategy, run
configs, and the programs and gin modules that subprocess tests start. No test module imports
another test module; they import from here.
"""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_script(name):
    """The module of `scripts/<name>.py` (developer scripts are not installed)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}",
                                                  os.path.join(ROOT, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
