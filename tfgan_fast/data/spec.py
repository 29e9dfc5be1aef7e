"""`DataSpec`: what a trained model needs to know of its data, without the data.

Training records the data's name, class count and image shape in `DIR/data_spec.json`; the
export and evaluation tools rebuild the networks from it, so they run where the training data set
is not available (a serving machine, a laptop with only the checkpoint).
"""

import json

import gin

from tfgan_fast.data import base
from tfgan_fast.data.base import DataError

SPEC_FILE = "data_spec.json"


@gin.configurable
class DataSpec(base.DataSource):
    """A data source stand-in with `num_classes`, `image_shape` and `name` but no examples."""

    def __init__(self, num_classes=gin.REQUIRED, image_shape=gin.REQUIRED, name="recorded",
                 class_names=None):
        self._num_classes = int(num_classes)
        self._image_shape = tuple(int(s) for s in image_shape)
        self._name = name
        if class_names:  # the recorded data's names, kept for the export's metadata
            self.class_names = tuple(str(n) for n in class_names)

    exact_resume = True

    def make(self, batch_size, seed=0, input_context=None, repeat=True, start_step=0):
        raise DataError(f"DataSpec({self._name}) only records the data's shape; it has no "
                        "examples. Train with the real data source.")


def write_spec(data, path):
    """Writes `data`'s name, classes (and their names, if it has them) and image shape as JSON
    to `path`."""
    spec = {"name": data.name, "num_classes": int(data.num_classes),
            "image_shape": [int(s) for s in data.image_shape]}
    if getattr(data, "class_names", None):
        spec["class_names"] = [str(n) for n in data.class_names]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(spec, f)


def spec_bindings(path):
    """Gin bindings that replace `run.data` with the `DataSpec` recorded at `path`."""
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except FileNotFoundError as e:
        raise DataError(f"{path} not found: not a tfgan_fast training directory, or one made "
                        "before data specs were recorded") from e
    shape = ", ".join(str(int(s)) for s in spec["image_shape"])
    bindings = ["run.data = @DataSpec()",
                f"DataSpec.num_classes = {int(spec['num_classes'])}",
                f"DataSpec.image_shape = ({shape},)",
                f"DataSpec.name = {spec['name']!r}"]
    if spec.get("class_names"):
        bindings.append(f"DataSpec.class_names = {tuple(spec['class_names'])!r}")
    return bindings
