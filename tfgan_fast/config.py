"""Gin parsing with every configurable registered first, and clear errors for bad bindings.

Gin locks its config after parsing, so every module that defines configurables is imported here
before `parse_config_files_and_bindings`.
"""

import os

import gin

# pylint: disable=unused-import
from tfgan_fast import algorithms  # noqa: F401
from tfgan_fast import data  # noqa: F401
from tfgan_fast import distribute  # noqa: F401
from tfgan_fast import eval as eval_lib  # noqa: F401
from tfgan_fast import experiment  # noqa: F401
from tfgan_fast import latent  # noqa: F401
from tfgan_fast import losses  # noqa: F401
from tfgan_fast import nets  # noqa: F401
from tfgan_fast import optimizers  # noqa: F401
from tfgan_fast import penalties  # noqa: F401
from tfgan_fast import schedules  # noqa: F401
# pylint: enable=unused-import
from tfgan_fast.errors import RunError
from tfgan_fast.gin_files import GIN_DIR


class ConfigError(RunError, ValueError):
    """A gin file or binding could not be parsed; the message names it."""


def parse(gin_files=(), gin_params=(), finalize=True):
    """Parses gin files (relative includes resolve against the repo's `gin/` too) and bindings.

    Raises:
        ConfigError: naming the file or binding gin rejected and gin's own reason.
    """
    gin.clear_config()
    # `include 'base/x.gin'` resolves against gin/ before the working directory (gin logs an
    # error for every prefix it tries in vain); the files named on the command line are made
    # absolute here, so they never need the search path.
    prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
    if GIN_DIR not in prefixes:
        prefixes.insert(0, GIN_DIR)
    gin_files = [os.path.abspath(f) if os.path.exists(f) else f for f in gin_files]
    try:
        gin.parse_config_files_and_bindings(list(gin_files), list(gin_params),
                                            finalize_config=finalize)
    except (ValueError, KeyError, SyntaxError, IOError) as e:
        where = f"gin files {list(gin_files)}" + (
            f" / --gin_param {list(gin_params)}" if gin_params else "")
        raise ConfigError(f"bad gin configuration in {where}: {e}") from e
