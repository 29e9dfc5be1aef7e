"""Command-line tools, installed as `tfgan_fast.tools`: `python -m tfgan_fast.tools.<name>`,
or the console scripts `tfgan_fast_<name>` (see setup.py).
"""
