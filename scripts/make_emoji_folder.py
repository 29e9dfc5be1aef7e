"""Builds an RGB ImageFolder of emoji from the `emoji-datasource-*` npm packages (MIT / Apache /
CC-BY data; not shipped here): one sub-folder per Unicode emoji category, the 64 px images of
each vendor composited on white. It is the new-data check of the own-images recipe: RGB, labelled,
7,570 images in 9 classes, nothing the project was tuned on.

    mkdir -p /tmp/emoji && cd /tmp/emoji && for v in apple google twitter facebook; do
      npm pack emoji-datasource-$v@16.0.0; done
    python scripts/make_emoji_folder.py --packages=/tmp/emoji --output=/tmp/emoji/folder

Skin-tone variants are left out (they would make "People & Body" five times larger), and so is
the "Component" category (skin-tone swatches and hair pieces).
"""

import argparse
import collections
import glob
import json
import os
import tarfile

import numpy as np
import tensorflow as tf

VENDORS = ("apple", "google", "twitter", "facebook")


def _folder_name(category):
    return category.lower().replace(" & ", "_").replace(" ", "_")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", required=True, help="folder with the npm .tgz files")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    counts = collections.Counter()
    for vendor in VENDORS:
        (path,) = glob.glob(os.path.join(args.packages, f"emoji-datasource-{vendor}-*.tgz"))
        with tarfile.open(path) as tar:
            emoji = json.load(tar.extractfile("package/emoji.json"))
            for e in emoji:
                if e["category"] == "Component" or not e.get(f"has_img_{vendor}"):
                    continue
                member = f"package/img/{vendor}/64/{e['image']}"
                try:
                    data = tar.extractfile(member).read()
                except KeyError:
                    continue
                rgba = tf.io.decode_png(data, channels=4).numpy().astype(np.float32) / 255.0
                rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])  # on white
                folder = os.path.join(args.output, _folder_name(e["category"]))
                os.makedirs(folder, exist_ok=True)
                out = os.path.join(folder, f"{vendor}_{e['unified'].lower()}.png")
                with open(out, "wb") as f:
                    f.write(tf.io.encode_png(np.round(rgb * 255).astype(np.uint8)).numpy())
                counts[e["category"]] += 1
    total = sum(counts.values())
    print(f"{total} images in {len(counts)} classes: "
          + ", ".join(f"{c} {n}" for c, n in sorted(counts.items())) + f" -> {args.output}")


if __name__ == "__main__":
    main()
