"""Command-line tools, installed as `tfgan_fast.tools`: `python -m tfgan_fast.tools.<name>`,
or the console scripts `tfgan_fast_<name>` (see setup.py). The developer scripts (the quickstart
data's maker, a network micro-benchmark, the oneDNN remapper reproduction) are in the
repository's `scripts/` and are not installed.
"""
