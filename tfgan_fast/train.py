r"""Train a GAN: `python -m tfgan_fast.train --gin_file=gin/quickstart.gin --model_dir=DIR`.

`--gin_file` repeats (later files override earlier ones), `--gin_param` adds bindings
(`--gin_param='run.train_steps=100'`). Rerunning the same command resumes from `DIR`.
Errors raised on purpose (bad config, missing data, NaN, a locked directory, a failed
checkpoint write, an incompatible checkpoint) print one line and exit with status 1;
`--traceback` shows the full trace. TensorFlow's C++ and INFO logs are off unless
`TF_CPP_MIN_LOG_LEVEL` is set or absl's `--verbosity` (e.g. `-v 0`) is given.
"""

import os
import signal

from absl import app
from absl import flags

from tfgan_fast import cli
from tfgan_fast import gin_files as gin_files_lib
from tfgan_fast import quiet

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin config file(s); repeat to combine.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings, e.g. 'run.train_steps=100'.")
flags.DEFINE_string("model_dir", None, "Directory for checkpoints, logs, samples and export.")
flags.mark_flag_as_required("model_dir")


def _sigterm_to_exit(signum, frame):
    del frame
    raise SystemExit(128 + signum)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.gin_file:
        raise app.UsageError("--gin_file is required (e.g. --gin_file=gin/quickstart.gin)")
    gin_files = [gin_files_lib.resolve_gin_file(path) for path in FLAGS.gin_file]
    for path, found in zip(FLAGS.gin_file, gin_files):
        if found is None:
            raise app.UsageError(f"--gin_file={path}: no such file (nor a shipped config "
                                 f"{os.path.join(gin_files_lib.GIN_DIR, path)})")
    # Imported after the flags are checked so that `--help` and flag errors are instant.
    quiet.quiet_tensorflow()  # before anything imports TensorFlow
    from tfgan_fast import config  # pylint: disable=import-outside-toplevel
    from tfgan_fast import experiment  # pylint: disable=import-outside-toplevel

    signal.signal(signal.SIGTERM, _sigterm_to_exit)
    config.parse(gin_files, FLAGS.gin_param)
    try:
        experiment.run(FLAGS.model_dir)
    except KeyboardInterrupt:
        return 130
    return 0


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
