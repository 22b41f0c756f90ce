"""``featcls datasets``: the built-in datasets, feature families and models."""

from __future__ import annotations

from typing import Annotated

import typer

from featcls.models._registry import MODEL_SPECS

__all__ = ["datasets"]


def datasets(
    features: Annotated[
        bool, typer.Option("--features", help="List the feature families instead.")
    ] = False,
    models: Annotated[
        bool,
        typer.Option(
            "--models", help="List the models of 'featcls compare --models' instead."
        ),
    ] = False,
) -> None:
    """List the built-in datasets (or the feature families, or the models).

    With --features, the feature families; with --models, the models.
    """
    from featcls.data import BUILTIN_DATASETS
    from featcls.features import FEATURE_FAMILIES

    if models:
        width = max(map(len, MODEL_SPECS))
        for name, spec in MODEL_SPECS.items():
            typer.echo(f"{name:<{width}}  {spec.consumes:<8}  {spec.description}")
        return
    if features:
        for name, cls in FEATURE_FAMILIES.items():
            # A network's embedding is as wide as the network makes it.
            n = "D" if cls.batched else len(cls().feature_names())
            first = (cls.__doc__ or "").strip().splitlines()[0]
            typer.echo(f"{name:<10} {n:>4} features  {first}")
        return
    for name, loader in BUILTIN_DATASETS.items():
        first = (loader.__doc__ or "").strip().splitlines()[0]
        typer.echo(f"{name:<10} {first}")
