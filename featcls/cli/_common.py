"""What every command shares: one-line failures, guarded work, checks before work.

A user-fixable error becomes ``featcls: error: ...`` and exit status 1; a warning
becomes one ``featcls: warning: ...`` line; settings named in featcls's messages are
spelt as options (``--on-error skip``).
"""

from __future__ import annotations

import contextlib
import warnings
from enum import Enum
from pathlib import Path

import typer

__all__ = [
    "check_options",
    "check_out_dir",
    "check_out_file",
    "check_scheduler",
    "cli_spelling",
    "command_line",
    "echo_skipped",
    "fail",
    "option_name",
    "run_guarded",
    "warnings_as_lines",
]


def mask_policy(ctx, ds) -> str:
    """The mask policy of a command: ``--mask``, or the dataset's own.

    ``--mask`` counts where the user set it (command line, environment or
    configuration file); otherwise the loaded dataset's ``mask_policy`` applies
    (``"full"`` for ELPV's cells, else ``"auto"``).
    """
    source = getattr(ctx.get_parameter_source("mask"), "name", None)
    if source in ("COMMANDLINE", "ENVIRONMENT", "DEFAULT_MAP"):
        value = ctx.params["mask"]
        return getattr(value, "value", value)
    return ds.mask_policy


def fail(message: str) -> None:
    """Print one line to stderr and exit with status 1."""
    typer.echo(f"featcls: error: {message}", err=True)
    raise typer.Exit(code=1)


def option_name(name: str) -> str:
    """The command-line option of a parameter name: ``n_jobs`` → ``--n-jobs``."""
    return "--" + name.replace("_", "-")


#: Library parameters that messages name (featcls.exceptions.Setting) → the option
#: that sets them here, where the two names differ.
_OPTION_OF_PARAMETER = {"drop_rare_classes": "drop_rare", "cv": "folds"}


def cli_spelling(setting) -> str:
    """A library setting as the command line spells it.

    ``on_error='skip'`` → ``--on-error skip``, ``drop_rare_classes=True`` →
    ``--drop-rare``, ``cv=2`` → ``--folds 2``.
    """
    option = option_name(_OPTION_OF_PARAMETER.get(setting.name, setting.name))
    if isinstance(setting.value, bool):
        return option if setting.value else f"no {option}"
    return f"{option} {setting.value}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line, ``featcls: warning: ...``.

    Python's format (``file.py:319: FeatureWarning`` and a line of featcls's
    source) means nothing to a user of the command line. Warnings of other
    libraries keep their category's name at the end.
    """
    from featcls.exceptions import DataWarning, FeatureWarning

    text = " ".join(str(message).split())
    if not issubclass(category, (DataWarning, FeatureWarning)):
        text = f"{text} ({category.__name__})"
    typer.echo(f"featcls: warning: {text}", err=True)


@contextlib.contextmanager
def warnings_as_lines():
    """Show every warning raised in the body as one ``featcls: warning:`` line.

    featcls's own warnings about the data (:class:`~featcls.exceptions.DataWarning`,
    :class:`~featcls.exceptions.FeatureWarning`) are part of the command's output:
    they are shown even where the interpreter's filters would ignore them or turn
    them into errors (``python -W error``).
    """
    from featcls.exceptions import DataWarning, FeatureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("default", DataWarning)
        warnings.simplefilter("default", FeatureWarning)
        warnings.filterwarnings(
            "ignore", message=LOKY_WORKER_REPLACED, category=UserWarning
        )
        warnings.showwarning = _show_warning
        yield


#: The start of loky's note when its manager replaces a worker that stopped (its
#: idle timeout, its memory check) while tasks were queued: the queued tasks run on
#: the new worker and nothing is lost, so it says nothing to a user of featcls.
LOKY_WORKER_REPLACED = "A worker stopped while some jobs were given to the executor"


#: Options whose being given changes the run even at the default value.
GIVEN_MATTERS = frozenset({"channels"})


def command_line(ctx: typer.Context, values: dict) -> str:
    """The command that reproduces this run: every setting that is not the default.

    Built from the resolved values (so settings read from --config appear
    explicitly), not from ``sys.argv``. An option whose being given matters even
    at its default value (--channels gray: the CNNs then take the grey image
    instead of every channel) is kept when it was given.
    """
    import shlex

    parts = ["featcls", ctx.info_name or ""]
    for param in ctx.command.params:
        if param.name in ("config", "progress") or not param.opts:
            continue
        value = values.get(param.name)
        source = ctx.get_parameter_source(param.name)
        if param.name in GIVEN_MATTERS and getattr(source, "name", "") == "COMMANDLINE":
            parts += [param.opts[0], str(getattr(value, "value", value))]
            continue
        if isinstance(value, Enum):
            value = value.value
        default = (
            param.default.value if isinstance(param.default, Enum) else param.default
        )
        if (
            value is None
            or value == default
            or (isinstance(default, Path) and str(value) == str(default))
        ):
            continue
        if isinstance(value, bool):
            flag = param.opts[0] if value else (param.secondary_opts or [None])[0]
            if flag:
                parts.append(flag)
            continue
        parts += [param.opts[0], str(value)]
    return shlex.join(parts)


def run_guarded(func):
    """Call ``func``; turn the errors a user can fix into one line and exit 1.

    Those are bad input (ValueError, which featcls's own errors in
    :mod:`featcls.exceptions` are), a path that cannot be used (OSError) and an
    optional library that is not installed (the ImportError featcls raises with
    the command that installs it). Anything else is a bug and keeps its
    traceback. Settings named in featcls's messages are spelt as options
    (``--on-error skip``), and warnings are shown as one line each.
    """
    from featcls.exceptions import spell_message
    from featcls.models import reuse_freed_memory

    # featcls is the whole process here: let glibc reuse freed CNN activations
    # (CPU training speed; the library itself never changes the process heap).
    reuse_freed_memory()
    try:
        with warnings_as_lines():
            return func()
    except typer.Exit:
        raise
    except (ValueError, OSError, ImportError) as exc:
        text = spell_message(exc, cli_spelling)
        fail(text.splitlines()[0] if text else type(exc).__name__)


def _at_least() -> dict[str, int]:
    """Smallest value of each integer option, checked before any work.

    Values read from --config are checked too. The CNN's and the synthetic
    generator's minimums are read from the library, which checks them again itself.
    """
    from featcls.data._synthetic import MIN_IMAGE_SIZE
    from featcls.models._cnn_params import CNN_CONSTRAINTS, lowest

    return {
        "n_samples": 1,
        "image_size": MIN_IMAGE_SIZE,
        "folds": 2,
        "repeats": 1,
        "cnn_epochs": lowest(CNN_CONSTRAINTS, "max_epochs"),
        "cnn_size": lowest(CNN_CONSTRAINTS, "input_size"),
    }


def check_options(values: dict) -> None:
    """Stop with one line on an option value that cannot work, before any work.

    Covers the integer options of :func:`_at_least` and ``--n-jobs`` (a number of
    workers >= 1, or -1 for all cores), for whichever of them ``values`` holds.
    """
    for name, low in _at_least().items():
        value = values.get(name)
        if value is not None and value < low:
            fail(f"{option_name(name)} must be {low} or more. Got {value}.")
    n_jobs = values.get("n_jobs")
    if n_jobs is not None and n_jobs < 1 and n_jobs != -1:
        fail(
            "--n-jobs must be a number of worker processes (1 or more), or -1 for "
            f"all cores. Got {n_jobs}."
        )


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_scheduler(spec: str | None) -> None:
    """One line and exit 1 for a --scheduler that is not local:N or an address."""
    if spec is None:
        return
    from featcls._scheduler import parse_scheduler

    try:
        parse_scheduler(spec)
    except ValueError as exc:
        fail(f"--scheduler: {exc}")


def check_out_file(out: Path) -> None:
    """Stop with one line, before any work, if ``--out`` cannot be a file."""
    if out.is_dir():
        fail(f"--out '{out}' is a folder; give a file name.")
    ancestor = _existing_ancestor(out.parent)
    if not ancestor.is_dir():
        fail(f"--out '{out}': '{ancestor}' is a file, not a folder.")


def check_out_dir(out: Path) -> None:
    """Stop with one line, before any work, if ``--out`` cannot be a folder."""
    ancestor = _existing_ancestor(out)
    if ancestor.is_dir():
        return
    if ancestor == out.absolute():
        fail(
            f"--out '{out}' is a file; the results go into a folder (report.html, "
            "results.json, CSVs): give a folder name."
        )
    fail(f"--out '{out}': '{ancestor}' is a file, so the folder cannot be made.")


def echo_skipped(skipped) -> None:
    """List the files a dataset skipped (``--on-error skip``), one per line."""
    if len(skipped):
        typer.echo(f"{len(skipped)} file(s) skipped:", err=True)
        for row in skipped.itertuples():
            typer.echo(f"  {row.path}: {row.reason}", err=True)
