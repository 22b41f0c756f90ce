"""The ``featcls`` Typer application and its ``--version`` callback."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(
    name="featcls",
    help="Hand-crafted image features, classical models and CNNs compared on the same "
    "folds: is a CNN really better than a well-built classical baseline on your "
    "images?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from featcls import __version__

        typer.echo(f"featcls {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Hand-crafted image features, classical models and CNNs, compared.

    All are compared on the same folds, to answer: is a CNN really better than a
    well-built classical baseline on your images?
    """
