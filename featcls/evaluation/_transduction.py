"""What the networks of a comparison saw without labels, and pretraining per fold.

A backbone pretrained by :func:`featcls.models.pretrain` records the content key
of every image it saw. When such a file initialises a CNN (``weights``) or feeds
the ``embedding`` features of a model, the test images of the comparison may be
among them: the backbone has seen them (without their labels) before it was
evaluated on them, a transductive setting whose scores may differ from those of
images never seen. :func:`pretrained_on` counts them, per model, for
``result.settings["pretrained_on"]``; :func:`pretraining_notes` says it in
words for the command line and the report.

``compare(..., pretrain="fold")`` (:func:`pretrain_in_folds`) instead pretrains
the network of every CNN and fusion model inside each fit, on that fit's
training images only (``CNNClassifier(pretrain=...)``), and that of the
``embedding`` features before each fit's feature matrix is extracted
(:func:`fold_extractor`); the same count, from
the content keys each fold's pretraining logged, checks that none of them was a
test image of its fold.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn.base import clone

from featcls._policies import PRETRAIN_MODES
from featcls.features import EmbeddingFeatures, FeatureExtractor

__all__ = [
    "fold_extractor",
    "network_files",
    "pretrain_in_folds",
    "pretrained_on",
    "pretraining_notes",
    "pretrains_embedding",
]


def _embedding_files(extractor) -> list[tuple[str, str]]:
    if not isinstance(extractor, FeatureExtractor):
        return []
    from featcls.features._extractor import _resolve_families

    return [
        ("embedding", os.fspath(f.weights))
        for f in _resolve_families(extractor.families)
        if isinstance(f, EmbeddingFeatures) and f.weights is not None
    ]


def network_files(estimator) -> list[tuple[str, str]]:
    """``(via, path)`` of every weights file the networks of ``estimator`` load.

    ``via`` is ``"weights"`` for the ``weights`` of a network it trains (a CNN's,
    a fusion model's CNN) and ``"embedding"`` for those of an ``embedding``
    feature family inside it (a fusion model's feature branch, a pipeline step).
    """
    if not hasattr(estimator, "get_params"):
        return []
    params = {"": estimator, **estimator.get_params(deep=True)}
    found = []
    for key, value in params.items():
        owner_key, _, name = key.rpartition("__")
        if name == "weights" and isinstance(value, (str, os.PathLike)):
            owner = params.get(owner_key)
            via = "embedding" if isinstance(owner, EmbeddingFeatures) else "weights"
            found.append((via, os.fspath(value)))
        found += _embedding_files(value)
    return list(dict.fromkeys(found))


def _embedding_families(extractor) -> list:
    if not isinstance(extractor, FeatureExtractor):
        return []
    from featcls.features._extractor import _resolve_families

    return [
        f
        for f in _resolve_families(extractor.families)
        if isinstance(f, EmbeddingFeatures)
    ]


def pretrains_embedding(pretrain, models: Mapping[str, Any], features, takes_images):
    """Whether ``compare(..., pretrain=...)`` pretrains the ``embedding`` features.

    True when pretraining per fold is asked for and a model on features is given
    an extractor with the ``embedding`` family (see :func:`fold_extractor`).
    """
    return (
        pretrain is not None
        and any(not takes_images(est) for est in models.values())
        and bool(_embedding_families(features))
    )


def pretrain_in_folds(
    models: Mapping[str, Any], pretrain, features, takes_images: Callable
) -> dict:
    """The models of ``compare(..., pretrain=...)``: their networks pretrained per fit.

    ``pretrain`` is ``"fold"`` (the default settings) or a dict of
    :func:`~featcls.models.pretrain`'s settings; every ``pretrain`` parameter of
    an image model (``CNNClassifier``, a fusion model's ``cnn__pretrain``, a
    search's ``estimator__pretrain``) that is None is set to them, so that every
    fit pretrains its network on its own training images. The network of the
    ``embedding`` features of the comparison's extractor ``features`` is
    pretrained per fold by compare itself (:func:`fold_extractor`); it must not
    come with ``weights`` of its own. ``takes_images`` tells the image models
    (those fitted on the sample table).

    Raises
    ------
    ValueError
        For another ``pretrain`` value or invalid settings; if no model trains a
        network, an image model has no ``pretrain`` parameter, a model holds
        ``embedding`` features of its own (a fusion model's feature branch, a
        pipeline step: extracted inside its fits, beyond compare's reach), or the
        extractor's ``embedding`` family already has ``weights``.
    """
    from featcls.models._pretrain_params import resolve_settings

    if isinstance(pretrain, Mapping):
        settings = dict(pretrain)
    elif pretrain in PRETRAIN_MODES:
        settings = {}
    else:
        raise ValueError(
            "compare's 'pretrain' must be None, 'fold' or a dict of pretraining "
            f"settings (featcls.models.pretrain's). Got {pretrain!r}."
        )
    resolve_settings(settings, "compare(pretrain=...)")
    out, pretrained = {}, []
    for name, est in models.items():
        images = takes_images(est)
        if any(via == "embedding" for via, _ in network_files(est)):
            raise ValueError(
                f"compare(pretrain='fold') pretrains the networks of the CNN and "
                f"fusion models and of the comparison's 'embedding' features inside "
                f"each training fold, but {name} holds 'embedding' features of its "
                "own, extracted inside its fits (not supported). Give the "
                "embedding family to compare's features instead, pretrain its "
                "backbone on images outside the comparison "
                "(featcls.models.pretrain), or compare without pretrain."
            )
        if not images:
            out[name] = est
            continue
        params = est.get_params(deep=True)
        keys = [k for k in params if k == "pretrain" or k.endswith("__pretrain")]
        if not keys:
            raise ValueError(
                f"compare(pretrain='fold') pretrains the network of every image "
                f"model, but {name} ({type(est).__name__}) has no 'pretrain' "
                "parameter: give a CNNClassifier, or a FusionClassifier with its "
                "cnn."
            )
        unset = {k: dict(settings) for k in keys if params[k] is None}
        out[name] = clone(est).set_params(**unset) if unset else est
        pretrained.append(name)
    if pretrains_embedding(pretrain, models, features, takes_images):
        for family in _embedding_families(features):
            if family.weights is not None:
                raise ValueError(
                    "compare(pretrain='fold') pretrains the network of the "
                    "'embedding' features from random weights inside each training "
                    f"fold, but it was given weights ({os.fspath(family.weights)}). "
                    "Drop the weights (--embedding-weights) to pretrain per fold, "
                    "or compare without pretrain to use them."
                )
        pretrained.append("embedding")
    if not pretrained:
        raise ValueError(
            "compare(pretrain='fold') pretrains the networks of the CNN and fusion "
            "models and of the 'embedding' features; none of "
            f"{', '.join(models)} is one or uses them."
        )
    return out


def _backbone_key(table, settings: Mapping, family, variant: dict, seed) -> str | None:
    """A digest of everything a fold's pretrained backbone depends on, or None.

    None for a network given as an object (its code cannot be fingerprinted),
    whose backbone is then never reused.
    """
    import hashlib
    import json

    from featcls import __version__
    from featcls.models._pretrain_params import image_keys

    module = family.module
    if module is not None and not isinstance(module, str):
        return None
    facts = {
        "featcls": __version__,
        "architecture": family.architecture,
        "module": module,
        "input_size": family.input_size,
        "device": family.device.split(":")[0],
        "settings": {k: repr(v) for k, v in sorted(settings.items())},
        "variant": variant,
        "seed": seed,
        "images": sorted(image_keys(table)),
    }
    text = json.dumps(facts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fold_extractor(
    extractor, table, pretrain, *, random_state, progress, folder
) -> tuple[Any, dict]:
    """The extractor of one fit, its ``embedding`` network pretrained on ``table``.

    Every ``embedding`` family of ``extractor`` gets a backbone pretrained by
    :func:`featcls.models.pretrain` (``pretrain``'s settings: ``"fold"`` for the
    defaults, or a dict) on the images of ``table`` only, without labels: its
    ``module`` or built-in ``architecture``, at its ``input_size`` (96 px for a
    built-in network, 224 for your own), with the extractor's ``crop``,
    ``margin`` and ``mask_out``, seeded by ``random_state`` (0 when None). The
    backbone file is written to ``folder`` under a digest of all that and the
    images' content keys, so the same fit again (a re-run with the same
    ``cache_dir``) loads it instead of pretraining anew. Returns the extractor
    with those weights and ``{"method", "images"}``: the content keys the
    pretraining saw, as a CNN's fit logs them.
    """
    from pathlib import Path

    from featcls._nets._backbone import BUILTIN_INPUT_SIZE, MODULE_INPUT_SIZE
    from featcls._nets._pretrained import read_backbone
    from featcls.features._extractor import _resolve_families
    from featcls.models import pretrain as run_pretraining
    from featcls.models._pretrain_params import resolve_settings

    settings = dict(pretrain) if isinstance(pretrain, Mapping) else {}
    method = resolve_settings(settings, "compare(pretrain=...)").method
    seed = 0 if random_state is None else random_state
    variant = {
        "crop": bool(extractor.crop),
        "margin": float(extractor.margin),
        "mask_out": bool(extractor.mask_out),
    }
    families, saw = [], set()
    for family in _resolve_families(extractor.families):
        if not isinstance(family, EmbeddingFeatures):
            families.append(family)
            continue
        size = family.input_size or (
            BUILTIN_INPUT_SIZE if family.module is None else MODULE_INPUT_SIZE
        )
        digest = _backbone_key(table, settings, family, variant, seed)
        path = Path(folder) / f"embedding-{digest or os.urandom(16).hex()}.pt"
        backbone = read_backbone(path) if digest and path.is_file() else None
        if backbone is None:
            backbone = run_pretraining(
                table,
                out=path,
                architecture=family.architecture,
                module=family.module,
                input_size=int(size),
                **variant,
                device=family.device,
                n_threads=family.n_threads,
                random_state=seed,
                progress=progress,
                checkpoint=False,
                **settings,
            )
        saw.update(backbone.image_keys)
        families.append(clone(family).set_params(weights=str(path)))
    fitted = clone(extractor).set_params(families=families)
    return fitted, {"method": method, "images": sorted(saw)}


def _seen(keys: list[str], saw, positions) -> int:
    return sum(1 for i in positions if keys[i] in saw)


def pretrained_on(
    models: Mapping[str, Any],
    extractor,
    table,
    extras: Mapping[str, list],
    folds: list[dict],
    takes_images: Callable,
) -> dict:
    """Per model, what its networks' pretraining saw of the evaluated images.

    For every backbone file of :func:`~featcls.models.pretrain` a model loads
    (:func:`network_files`; the extractor's ``embedding`` family for the models
    on features): ``{"via": "weights" | "embedding", "file", "method",
    "n_images" (the images it was pretrained on), "seen" (how many of the
    evaluated images are among them), "of" (the evaluated images)}``. For a model
    pretrained inside its fits (its fold extras carry ``pretrain``): ``{"via":
    "fold", "network": "cnn" | "embedding" (the model's own network or that of
    its embedding features), "method", "folds", "n_images" (per fold, the
    median), "seen" (test
    images that the pretraining of their own fold saw: 0 unless something is
    wrong), "of"}``. Images are matched by content (the content key of each
    image, without its mask). Models whose networks were not pretrained by
    featcls are left out. ``takes_images`` tells the image models.
    """
    from featcls._nets._pretrained import read_backbone
    from featcls.models._pretrain_params import image_keys

    keys: list[str] | None = None
    out: dict[str, list[dict]] = {}
    for name, est in models.items():
        sources = network_files(est)
        if not takes_images(est):
            sources += _embedding_files(extractor)
        entries = []
        for via, path in dict.fromkeys(sources):
            try:
                backbone = read_backbone(path)
            except ValueError:  # a newer file: its fits failed and say so
                backbone = None
            if backbone is None or "images" not in backbone.info:
                continue
            keys = image_keys(table) if keys is None else keys
            entries.append(
                {
                    "via": via,
                    "file": path,
                    "method": backbone.info.get("method"),
                    "n_images": int(backbone.info.get("n_images", 0)),
                    "seen": _seen(keys, backbone.image_keys, range(len(keys))),
                    "of": len(keys),
                }
            )
        logged = [
            e
            for e in extras.get(name, [])
            if isinstance(e, Mapping) and isinstance(e.get("pretrain"), Mapping)
        ]
        if logged:
            keys = image_keys(table) if keys is None else keys
            tests = {(f["repeat"], f["fold"]): f["test"] for f in folds}
            seen: set[int] = set()
            for e in logged:
                saw = set(e["pretrain"].get("images") or ())
                seen.update(i for i in tests[e["repeat"], e["fold"]] if keys[i] in saw)
            entries.append(
                {
                    "via": "fold",
                    "network": "cnn" if takes_images(est) else "embedding",
                    "method": logged[0]["pretrain"].get("method"),
                    "folds": len(logged),
                    "n_images": int(
                        np.median(
                            [len(e["pretrain"].get("images") or ()) for e in logged]
                        )
                    ),
                    "seen": len(seen),
                    "of": len(keys),
                }
            )
        if entries:
            out[name] = entries
    return out


def _share(seen: int, of: int) -> str:
    return f"{seen / of:.0%}" if of else "-"


def pretraining_notes(settings: Mapping) -> list[str]:
    """One sentence per pretrained network of ``result.settings["pretrained_on"]``.

    Examples
    --------
    >>> notes = pretraining_notes({"pretrained_on": {"cnn": [{"via": "weights",
    ...     "file": "bb.pt", "method": "vicreg", "n_images": 900, "seen": 412,
    ...     "of": 500}]}})
    >>> print(notes[0])  # doctest: +NORMALIZE_WHITESPACE
    The backbone of cnn (bb.pt, pretrained by VICReg on 900 images) saw 412 of
    the 500 evaluated images (82%), without labels, during its self-supervised
    pretraining. compare(..., pretrain="fold") (featcls compare --pretrain fold)
    pretrains inside each training fold instead, so that no test image is seen.
    """
    from featcls.models._pretrain_params import METHOD_NAMES

    notes = []
    found = settings.get("pretrained_on") or {}
    for model, entries in found.items():
        for e in entries if isinstance(entries, list) else []:
            seen, of = e.get("seen", 0), e.get("of", 0)
            method = METHOD_NAMES.get(e.get("method"), e.get("method"))
            if e.get("via") == "fold":
                where = (
                    "none of the" if not seen else f"{seen} ({_share(seen, of)}) of the"
                )
                what = (
                    f"The network of the embedding features of {model} was"
                    if e.get("network") == "embedding"
                    else f"{model} was"
                )
                notes.append(
                    f"{what} pretrained without labels ({method}) inside each "
                    f"of its {e.get('folds')} fits, on that fit's training images "
                    f"only (median {e.get('n_images')}): {where} {of} evaluated "
                    "images was seen by the pretraining of the fold it was tested "
                    "in."
                )
                continue
            whose = (
                f"The backbone of {model}"
                if e.get("via") == "weights"
                else f"The network of the embedding features of {model}"
            )
            about = (
                f"{os.path.basename(str(e.get('file')))}, pretrained by {method} "
                f"on {e.get('n_images')} images"
            )
            if seen and e.get("via") == "weights":
                notes.append(
                    f"{whose} ({about}) saw {seen} of the {of} evaluated images "
                    f"({_share(seen, of)}), without labels, during its "
                    'self-supervised pretraining. compare(..., pretrain="fold") '
                    "(featcls compare --pretrain fold) pretrains inside each "
                    "training fold instead, so that no test image is seen."
                )
            elif seen:
                notes.append(
                    f"{whose} ({about}) saw {seen} of the {of} evaluated images "
                    f"({_share(seen, of)}), without labels, during its "
                    'self-supervised pretraining. compare(..., pretrain="fold") '
                    "(featcls compare --pretrain fold, without "
                    "--embedding-weights) pretrains their network inside each "
                    "training fold instead, so that no test image is seen."
                )
            else:
                notes.append(
                    f"{whose} ({about}) saw none of the {of} evaluated images "
                    "during its self-supervised pretraining."
                )
    return notes
