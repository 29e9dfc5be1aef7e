"""Gin parsing with every configurable registered first, and clear errors for bad bindings.

Gin locks its config after parsing, so every module that defines configurables is imported here
before `parse_config_files_and_bindings`.
"""

import difflib
import inspect
import os
import re

import gin

# pylint: disable=unused-import
from tfgan_fast import algorithms  # noqa: F401  (the trainers, parts, EMA, optimisers, schedules)
from tfgan_fast import data  # noqa: F401
from tfgan_fast import eval as eval_lib  # noqa: F401
from tfgan_fast import nets  # noqa: F401
from tfgan_fast.run import spec  # noqa: F401  (`run`)
from tfgan_fast.runtime import distribute  # noqa: F401
# pylint: enable=unused-import
from tfgan_fast.run.gin_files import GIN_DIR
from tfgan_fast.runtime.errors import RunError


class ConfigError(RunError, ValueError):
    """A gin file or binding could not be parsed; the message names it."""


def _parameters(name):
    """The parameter names of the configurable `name` (empty if unknown)."""
    try:
        configurable = gin.config._REGISTRY.get_match(name)  # pylint: disable=protected-access
        return list(inspect.signature(configurable.wrapped).parameters)
    except Exception:  # pylint: disable=broad-except  # only a hint
        return []


def _configurable_names():
    selectors = gin.config._REGISTRY._selector_map  # pylint: disable=protected-access
    return sorted({selector.split(".")[-1] for selector in selectors})


def hint(message):
    """A suggestion for gin's error `message`: the parameter or configurable the user probably
    meant, or how to write a string value; "" when there is none."""
    m = re.search(r"Configurable '([\w.]+)' doesn't have a parameter named '(\w+)'", message)
    if m:
        close = difflib.get_close_matches(m.group(2), _parameters(m.group(1)), n=1)
        return f" Did you mean '{m.group(1)}.{close[0]}'?" if close else ""
    m = re.search(r"No configurable matching (?:reference )?'@?([\w./]+)'", message)
    if m:
        close = difflib.get_close_matches(m.group(1).split("/")[-1], _configurable_names(), n=1)
        return f" Did you mean '{close[0]}'?" if close else ""
    m = re.search(r"Failed to parse token '([^']*)'", message)
    if m:
        return (f" Strings must be quoted in gin: '{m.group(1)}' (e.g. --gin_param=\"run.x = "
                f"'{m.group(1)}'\"); references are written @Name, macros %NAME.")
    return ""


def _add_search_path():
    """Puts the shipped configs FIRST on gin's search path, once per process.

    Not gin's public `add_config_file_search_path`: it appends after the working directory,
    and gin's resource reader logs an error ("Path not found: base/fastgan.gin") for every
    prefix it tries in vain, so every include would print one; ours must come first.
    """
    prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
    if GIN_DIR not in prefixes:
        prefixes.insert(0, GIN_DIR)


def parse(gin_files=(), gin_params=(), finalize=True):
    """Parses gin files (relative includes resolve against the repo's `gin/` too) and bindings.

    Raises:
        ConfigError: naming the file or binding gin rejected, gin's own reason and, where it can
            tell, what was probably meant.
    """
    gin.clear_config()
    # `include 'base/x.gin'` resolves against gin/ before the working directory; the files
    # named on the command line are made absolute here, so they never need the search path.
    _add_search_path()
    gin_files = [os.path.abspath(f) if os.path.exists(f) else f for f in gin_files]
    try:
        gin.parse_config_files_and_bindings(list(gin_files), list(gin_params),
                                            finalize_config=finalize)
    except (ValueError, KeyError, SyntaxError, IOError) as e:
        where = f"gin files {list(gin_files)}" + (
            f" / --gin_param {list(gin_params)}" if gin_params else "")
        reason = " ".join(str(e).split())
        raise ConfigError(f"bad gin configuration in {where}: {reason}.{hint(reason)}") from e
