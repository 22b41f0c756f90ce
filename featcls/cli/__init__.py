"""The ``featcls`` command line: thin Typer commands over the library.

Each command parses its options, loads the data, calls the library and writes its
output. Failures exit with status 1 and one clear line on stderr. The options are
declared once (:mod:`featcls.cli._options`); each command lives in its own module
and is registered here, in the order ``featcls --help`` lists them.
"""

from __future__ import annotations

from featcls.cli._app import app
from featcls.cli._compare import compare
from featcls.cli._datasets import datasets
from featcls.cli._explain import explain
from featcls.cli._extract import extract
from featcls.cli._options import Imbalance
from featcls.cli._pretrain import pretrain
from featcls.cli._report import report
from featcls.cli._train import predict, train

__all__ = ["Imbalance", "app", "main"]

for _command in (
    extract,
    compare,
    report,
    pretrain,
    train,
    predict,
    explain,
    datasets,
):
    app.command()(_command)
del _command


def main() -> None:
    """Entry point of the ``featcls`` console script."""
    app(prog_name="featcls")
