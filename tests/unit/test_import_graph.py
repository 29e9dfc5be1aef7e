"""The package's shape (docs/layout.md): no import cycle, only entry points and sub-packages at
the top, and the command line's modules free of TensorFlow."""

import ast
import os
import subprocess
import sys

import tensorflow as tf

from tests.support import ROOT

PACKAGE = os.path.join(ROOT, "tfgan_fast")
# Installed as tfgan_fast.tools / tfgan_fast.configs (setup.py); links in a checkout.
NOT_SOURCE = {"tools", "configs", "__pycache__"}


def _modules():
    """`{dotted name: path}` of every module of the package (a package as its `__init__`)."""
    found = {}
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d not in NOT_SOURCE]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    return found


def import_graph():
    """`{module: modules it imports}`, every import statement counted (inside functions too),
    and a submodule's import also counted as one of its packages' (Python runs their
    `__init__` first), unless the importer lives in that package."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfgan_fast"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("tfgan_fast"))
        for target in list(targets):
            parts = target.split(".")
            for k in range(2, len(parts)):
                package = ".".join(parts[:k])
                if not (module == package or module.startswith(package + ".")):
                    targets.add(package)
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


class ImportGraphTest(tf.test.TestCase):

    def test_cycle_finder_on_a_hand_made_graph(self):
        graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}
        self.assertCountEqual(cycles(graph), [["a", "b", "c"], ["e", "e2"]])
        self.assertEqual(cycles({"a": {"b"}, "b": set()}), [])

    def test_no_cycle(self):
        graph = import_graph()
        self.assertIn("tfgan_fast.run.spec", graph["tfgan_fast.run.config"])  # it sees imports
        self.assertEqual(cycles(graph), [])

    def test_top_level_holds_entry_points_and_sub_packages(self):
        entries = {e for e in os.listdir(PACKAGE) if e not in NOT_SOURCE}
        packages = {e for e in entries
                    if os.path.isfile(os.path.join(PACKAGE, e, "__init__.py"))}
        self.assertEqual(entries - packages, {"__init__.py", "train.py"})
        self.assertEqual(packages, {"algorithms", "data", "eval", "export", "nets", "perf",
                                    "run", "runtime"})

    def test_command_line_modules_import_no_tensorflow(self):
        program = ("import sys\n"
                   "import tfgan_fast.train, tfgan_fast.run.budget\n"
                   "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                   "('tensorflow', 'keras', 'gin')))\n")
        out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                             check=True, cwd=ROOT, env=dict(os.environ))
        self.assertEqual(out.stdout.strip(), "[]")
