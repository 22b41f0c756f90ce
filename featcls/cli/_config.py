"""``--config``: settings of 'featcls compare' read from a TOML file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from featcls.cli._common import fail

__all__ = ["apply_config"]


def apply_config(ctx: typer.Context, config: Path | None, values: dict) -> dict:
    """Settings from a TOML file, for every option not given on the command line.

    Each value is converted and checked as the option's own value would be, so a
    bad value (``imbalance = "smoot"``, ``folds = "three"``) stops with one line
    naming the setting and the file, before any work.
    """
    if config is None:
        return values
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    try:
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"config file '{config}' does not exist.")
    except IsADirectoryError:
        fail(f"--config '{config}' is a folder; give a TOML file.")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read config file '{config}': {exc}")
    except tomllib.TOMLDecodeError as exc:
        fail(f"config file '{config}' is not valid TOML: {exc}")
    settings = settings.get("compare", settings)
    if not isinstance(settings, dict):
        fail(f"config file '{config}': [compare] must be a table of settings.")
    params = {p.name: p for p in ctx.command.params}
    out = dict(values)
    for key, value in settings.items():
        name = key.replace("-", "_")
        if name not in values or name == "config":
            fail(
                f"unknown setting {key!r} in '{config}'; settings are the options of "
                "'featcls compare' (e.g. models, folds, seed)."
            )
        source = ctx.get_parameter_source(name)
        if getattr(source, "name", None) == "COMMANDLINE":
            continue  # the command line wins
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dict):
            fail(f"setting {key!r} in '{config}' is a table; give a single value.")
        current = values[name]
        choices = [e.value for e in type(current)] if isinstance(current, Enum) else []
        if choices and value not in choices:
            fail(
                f"setting {key!r} in '{config}' must be one of {', '.join(choices)}; "
                f"got {value!r}."
            )
        try:  # the option's own conversion: type, choices (enums), paths
            out[name] = params[name].process_value(ctx, str(value))
        except typer.BadParameter as exc:
            fail(f"setting {key!r} in '{config}': {exc.message} (got {value!r}).")
    return out
