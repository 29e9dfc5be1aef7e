r"""Explore an exported generator in the browser: classes, seeds, truncation, interpolation.

  python -m tfgan_fast.tools.explore --export=runs/quickstart/export
  python -m tfgan_fast.tools.explore --export=DIR/export/1200 --port=8080

Serves a local page (http://127.0.0.1:8000/ by default) that runs the export's SavedModel (the
newest version of an `export/` directory, or the version named): a grid of samples of a class
for a seed and a truncation, an interpolation between two seeds, one seed in every class, and
the grid as a PNG download. docs/export.md shows it.
"""

from absl import flags

from tfgan_fast.run import cli
from tfgan_fast.runtime import quiet

FLAGS = flags.FLAGS
flags.DEFINE_string("export", None, "An export directory: DIR/export (its newest version) or "
                    "DIR/export/<version>.")
flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (the default: this machine only).")
flags.DEFINE_integer("port", 8000, "Port to listen on (0: any free port).")
flags.mark_flags_as_required(["export"])


def main(argv):
    quiet.quiet_tensorflow()
    del argv
    from tfgan_fast.export import explorer  # pylint: disable=import-outside-toplevel

    generator = explorer.Explorer(FLAGS.export)
    server = explorer.make_server(generator, FLAGS.host, FLAGS.port)
    host, port = server.server_address[:2]
    print(f"Exploring {generator.path} at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def entry_point():
    cli.run(main)


if __name__ == "__main__":
    entry_point()
