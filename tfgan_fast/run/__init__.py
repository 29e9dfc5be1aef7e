"""The life of a run: its spec (`run.*` in gin), build -> restore -> fit -> evaluate -> export.

- `spec.py`: `RunSpec`, the one gin-configured object every `run.*` binding sets.
- `experiment.py`: `run` (train, resume, export), `build` / `load_for_tools` (the tools' entry).
- `callbacks.py`: checkpoints, summaries, status line, progress, signals.
- `rundir.py`: the run directory (lock, unreadable checkpoints set aside, config diff on resume).
- `config.py`, `gin_files.py`: gin parsing with every configurable registered, shipped configs.
- `budget.py`: a run's length chosen from a time budget.
- `supervisor.py`, `cli.py`: the process around `python -m tfgan_fast.train` and every tool.

Importing this package imports nothing else: `cli`, `gin_files` and `supervisor` stay free of
TensorFlow, so the command line checks its flags at once.
"""
