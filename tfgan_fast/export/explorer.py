"""A local web page to explore an exported generator (`python -m tfgan_fast.tools.explore`).

The server is the standard library's `http.server` with one static page (`explorer.html`,
plain JavaScript) and a small JSON/PNG API; it runs the export's SavedModel, so what the page
shows is what TF Serving would return for the same inputs.

API (GET; every image is a PNG of uint8 pixels, `round((x + 1) * 127.5)` as the SavedModel's
`png` signature, tiles side by side without gaps):

* `/api/info`: `{"z_dim", "num_classes", "class_names", "image_shape", "path"}`.
* `/api/grid.png?class=C&seed=S&truncation=T&n=N&cols=K`: N samples of class C, latents
  `latents(N, z_dim, seed=S)` (see `tfgan_fast.export.serving.latents`) scaled by T, in rows of K.
* `/api/seeds.png?class=C&seed=S&seed2=S2&truncation=T&steps=N`: one row of N images along
  the spherical interpolation from the latent of seed S to that of S2 (`slerp`), class C.
* `/api/classes.png?seed=S&truncation=T`: the latent of seed S in every class, in class order.

The latent of seed S is the first row of `latents(1, z_dim, seed=S)`. Bad parameters get
status 400 and `{"error": "<one line naming the parameter and the value>"}`.
"""

import http.server
import json
import os
import threading
import urllib.parse

import numpy as np

from tfgan_fast.export import saved_model as export
from tfgan_fast.export import serving

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "explorer.html")
MAX_IMAGES = 64
MAX_SEED = 2 ** 32 - 1


class BadRequest(ValueError):
    """A request parameter out of its range; the message names it and its value."""


def slerp(a, b, t):
    """Spherical interpolation between latents `a` and `b` `[z_dim]` at `t` in [0, 1]
    (White 2016, "Sampling Generative Networks"): it keeps the norm that Gaussian latents
    have, which the straight line between them loses halfway."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (anti)parallel within rounding: the line is the arc
        return ((1.0 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b)
            / np.sin(omega)).astype(np.float32)


def tile(images, cols):
    """uint8 `[rows * H, cols * W, C]` from float `[N, H, W, C]` in [-1, 1], row by row
    (the last row padded with black)."""
    images = np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    n, h, w, c = images.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    grid = np.zeros((rows * h, cols * w, c), np.uint8)
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        grid[r * h:(r + 1) * h, k * w:(k + 1) * w] = image
    return grid


class Explorer:
    """The export's SavedModel behind the page's requests."""

    def __init__(self, export_dir):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        self._tf = tf
        self.path = export.resolve_saved_model(export_dir)  # FileNotFoundError names the dir
        loaded = tf.saved_model.load(self.path)
        self._truncated = loaded.signatures["truncated"]
        meta = export.export_metadata(self.path, loaded.signatures["serving_default"])
        self.z_dim = int(meta["z_dim"])
        self.num_classes = int(meta.get("num_classes", 0))
        self.image_shape = meta.get("image_shape")
        if self.image_shape is not None and len(self.image_shape) != 3:
            raise ValueError(f"{self.path} generates {self.image_shape}-shaped samples, not "
                             "images: the explorer shows image generators only")
        names = meta.get("class_names") or []
        self.class_names = [str(n) for n in names][:self.num_classes] + [
            f"class {i}" for i in range(len(names), self.num_classes)]
        self._lock = threading.Lock()  # one generation at a time: the cores are few

    def info(self):
        return {"z_dim": self.z_dim, "num_classes": self.num_classes,
                "class_names": self.class_names, "image_shape": self.image_shape,
                "path": self.path}

    def generate(self, z, labels, truncation):
        """Float32 images `[N, H, W, C]` of the SavedModel's `truncated` signature."""
        tf = self._tf
        feeds = {"z": tf.constant(np.asarray(z, np.float32)),
                 "truncation": tf.constant(float(truncation), tf.float32)}
        if self.num_classes:
            feeds["labels"] = tf.constant(np.asarray(labels, np.int32))
        with self._lock:
            return self._truncated(**feeds)["images"].numpy()

    def latent(self, seed):
        return serving.latents(1, self.z_dim, seed=seed)[0]

    def grid(self, label, seed, truncation, n, cols):
        z = serving.latents(n, self.z_dim, seed=seed)
        return tile(self.generate(z, [label] * n, truncation), cols)

    def seeds(self, label, seed, seed2, truncation, steps):
        a, b = self.latent(seed), self.latent(seed2)
        z = np.stack([slerp(a, b, t) for t in np.linspace(0.0, 1.0, steps)])
        return tile(self.generate(z, [label] * steps, truncation), steps)

    def classes(self, seed, truncation):
        if not self.num_classes:
            raise BadRequest("this generator is unconditional: it has no classes to go across")
        z = np.repeat(self.latent(seed)[None], self.num_classes, axis=0)
        return tile(self.generate(z, list(range(self.num_classes)), truncation),
                    self.num_classes)

    # Parameters: each parsed with a one-line message naming it and the value it got.

    def _int(self, query, name, default, low, high):
        text = query.get(name, [str(default)])[-1]
        try:
            value = int(text)
        except ValueError:
            raise BadRequest(f"{name} must be an integer; got {text!r}") from None
        if not low <= value < high:
            raise BadRequest(f"{name} must be in [{low}, {high}); got {value}")
        return value

    def _truncation(self, query):
        text = query.get("truncation", ["1"])[-1]
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0.0 <= value <= 1.0:  # NaN fails too
            raise BadRequest(f"truncation must be a number in [0, 1]; got {text!r}")
        return value

    def _label(self, query):
        if not self.num_classes:
            return 0
        return self._int(query, "class", 0, 0, self.num_classes)

    def image(self, route, query):
        """The uint8 image `[H, W, C]` that `route` (grid, seeds, classes) answers."""
        seed = self._int(query, "seed", 0, 0, MAX_SEED + 1)
        truncation = self._truncation(query)
        if route == "grid":
            n = self._int(query, "n", 16, 1, MAX_IMAGES + 1)
            return self.grid(self._label(query), seed, truncation, n,
                             self._int(query, "cols", 8, 1, MAX_IMAGES + 1))
        if route == "seeds":
            return self.seeds(self._label(query), seed,
                              self._int(query, "seed2", seed + 1, 0, MAX_SEED + 1), truncation,
                              self._int(query, "steps", 8, 2, MAX_IMAGES + 1))
        if route == "classes":
            return self.classes(seed, truncation)
        raise KeyError(route)

    def png(self, route, query):
        return self._tf.io.encode_png(self.image(route, query)).numpy()


def make_handler(explorer):
    """A `BaseHTTPRequestHandler` class serving the page and the API of `explorer`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass  # one line per request would drown the terminal

        def _send(self, status, body, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status, value):
            self._send(status, json.dumps(value).encode("utf-8"), "application/json")

        def do_GET(self):  # pylint: disable=invalid-name
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path in ("/", "/index.html"):
                with open(PAGE, "rb") as f:
                    return self._send(200, f.read(), "text/html; charset=utf-8")
            if url.path == "/api/info":
                return self._json(200, explorer.info())
            route = url.path[len("/api/"):-len(".png")] if url.path.startswith(
                "/api/") and url.path.endswith(".png") else None
            if route not in ("grid", "seeds", "classes"):
                return self._json(404, {"error": f"no such page: {url.path}"})
            try:
                return self._send(200, explorer.png(route, query), "image/png")
            except BadRequest as e:
                return self._json(400, {"error": str(e)})
            except Exception as e:  # pylint: disable=broad-except
                # The page shows one line; the terminal keeps the rest.
                message = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
                print(f"explorer: {url.path}?{url.query}: {type(e).__name__}: {message}",
                      flush=True)
                return self._json(500, {"error": f"{type(e).__name__}: {message}"})

    return Handler


def make_server(explorer, host="127.0.0.1", port=0):
    """A `ThreadingHTTPServer` on `host:port` (0: a free port; see `server_address`)."""
    return http.server.ThreadingHTTPServer((host, port), make_handler(explorer))
