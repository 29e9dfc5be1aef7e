"""Speed: FLOP counts of the networks (`flops`), profiler traces of chosen iterations
(`profiling`) and the time-to-quality race between configs (`race`, behind `tools/race.py`)."""
