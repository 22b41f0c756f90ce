"""What a killed command leaves behind, so that running it again resumes it.

``featcls compare`` keeps every finished fit and every finished chunk of features
in ``OUT/checkpoint/``; ``featcls extract`` keeps the finished chunks in a hidden
folder next to its output. The same command again reuses what is there (only what
nothing changed for: see :func:`featcls.compare`'s ``checkpoint``) and removes
the folder once its outputs are written; ``--fresh`` removes it first.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["Checkpoint", "FreshOpt"]

FreshOpt = Annotated[
    bool,
    typer.Option(
        "--fresh",
        help="Start afresh: discard what an earlier run of this command that was "
        "killed or crashed left to resume from (by default the same command "
        "reuses its finished work, where nothing it depends on changed).",
    ),
]


class Checkpoint:
    """The resume folder of one command's output.

    Parameters
    ----------
    folder : Path
        Where finished work is kept (``fits/`` and ``features/`` inside).
    fresh : bool
        Remove what is there first.
    """

    def __init__(self, folder: Path, *, fresh: bool):
        self.folder = Path(folder)
        if fresh and self.folder.exists():
            shutil.rmtree(self.folder)
        fits = len(list((self.folder / "fits").glob("*.json")))
        chunks = len(list(self.features.glob("*/part-*.parquet")))
        if fits or chunks:
            found = []
            if fits:
                found.append(f"{fits} finished fit(s)")
            if chunks:
                found.append(f"{chunks} chunk(s) of features")
            typer.echo(
                f"featcls: resuming from '{self.folder}': {' and '.join(found)} of "
                "an earlier run, reused where nothing they depend on changed "
                "(--fresh starts afresh).",
                err=True,
            )

    @property
    def features(self) -> Path:
        """The feature cache of the run (when the user gave none)."""
        return self.folder / "features"

    def done(self) -> None:
        """The outputs are written: nothing is left to resume."""
        shutil.rmtree(self.folder, ignore_errors=True)
