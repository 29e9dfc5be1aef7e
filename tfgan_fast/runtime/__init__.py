"""What every part runs on: devices and strategies (`distribute`), the numeric policy
(`precision`, from the CPU's features in `hardware`), the random streams' owner (`randomness`),
errors a run reports in one line (`errors`), and small helpers: atomic file writes (`fileio`),
quiet TensorFlow logs (`quiet`, imported before TensorFlow), text on sample grids (`textstrip`).

Importing this package imports nothing else (`quiet` must run before TensorFlow loads).
"""
