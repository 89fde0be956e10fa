"""Store and load a :class:`~engine.anomaly.forest.CompiledForest` without pickle.

A model artifact is a folder with two files:

``forest.npz``
    The forest's arrays, written with ``np.savez`` (plain numeric arrays only)
    and always read back with ``allow_pickle=False``, so loading a model can
    never execute code.
``manifest.json``
    ``{format, version, feature_names, n_features, libraries, sha256, created_at, model}``:
    what the model expects (feature names *in order*), what built it (numpy
    and scikit-learn versions), and the sha256 of every other file.

Why: models are shipped between machines and loaded by a long-running
worker. :func:`load_forest` refuses, with a :class:`~engine.errors.ModelError`
that names the file, anything it cannot trust or that would score the wrong
columns: a missing file, a hash mismatch (both hashes shown), an unknown
format or version, feature names or order different from the running
feature extractor's (the differences listed), any pickled content, and
arrays that do not form valid trees.
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.lib.npyio import NpzFile

from engine.anomaly.forest import CompiledForest
from engine.errors import Location, ModelError

__all__ = ["FORMAT", "FORMAT_VERSION", "FOREST_FILE", "MANIFEST_FILE", "save_forest", "load_forest"]

FORMAT = "hongdun.isolation_forest"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
FOREST_FILE = "forest.npz"
MANIFEST_FILE = "manifest.json"

# Array name -> (dtype kind(s) accepted, ndim). Scalars are 0-d arrays.
_ARRAYS: dict[str, tuple[str, int]] = {
    "feature": ("iu", 1),
    "threshold": ("f", 1),
    "children": ("iu", 2),
    "missing_left": ("b", 1),
    "leaf_value": ("f", 1),
    "roots": ("iu", 1),
    "max_depth": ("iu", 0),
    "offset": ("f", 0),
    "max_samples": ("iu", 0),
    "n_features": ("iu", 0),
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_forest(
    forest: CompiledForest,
    folder: str | os.PathLike[str],
    *,
    feature_names: list[str],
    created_at: str,
) -> Path:
    """Write ``forest`` to ``folder`` as ``forest.npz`` + ``manifest.json``; return the manifest path.

    ``feature_names`` are the columns of ``X`` in order (as the feature
    extractor produces them); ``created_at`` is supplied by the caller (an
    ISO-8601 UTC time) so that saving stays deterministic and testable.
    The manifest is written last: a folder with a manifest is complete.
    """
    names = list(feature_names)
    if len(names) != forest.n_features_in_:
        raise ValueError(f"{len(names)} feature names for a forest of {forest.n_features_in_} features")
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ValueError("feature names must be unique non-empty strings")
    if not isinstance(created_at, str) or not created_at:
        raise ValueError("created_at must be a non-empty string")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)

    buf = io.BytesIO()
    np.savez(
        buf,
        feature=forest.feature_.astype(np.int64),
        threshold=forest.threshold_.astype(np.float64),
        children=forest.children_.astype(np.int64),
        missing_left=forest.missing_left_.astype(bool),
        leaf_value=forest.leaf_value_.astype(np.float64),
        roots=forest.roots_.astype(np.int64),
        max_depth=np.int64(forest.max_depth_),
        offset=np.float64(forest.offset_),
        max_samples=np.int64(forest.max_samples_),
        n_features=np.int64(forest.n_features_in_),
    )
    data = buf.getvalue()
    _write_atomic(out / FOREST_FILE, data)

    try:
        import sklearn

        sklearn_version: str | None = sklearn.__version__
    except ImportError:  # pragma: no cover - scoring does not need sklearn
        sklearn_version = None
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "feature_names": names,
        "n_features": len(names),
        "libraries": {
            "numpy": np.__version__,
            "sklearn": sklearn_version,
            "python": ".".join(map(str, sys.version_info[:3])),
        },
        "sha256": {FOREST_FILE: _sha256(data)},
        "created_at": created_at,
        "model": {
            "kind": "IsolationForest",
            "n_estimators": forest.n_estimators_,
            "max_samples": forest.max_samples_,
            "max_depth": forest.max_depth_,
            "offset": forest.offset_,
        },
    }
    path = out / MANIFEST_FILE
    _write_atomic(path, orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return path


def _feature_diff(found: list[str], expected: list[str]) -> str:
    """Say how the artifact's feature list differs from the running one."""
    parts: list[str] = []
    missing = [n for n in expected if n not in found]
    extra = [n for n in found if n not in expected]
    if missing:
        parts.append(f"missing from the model: {missing}")
    if extra:
        parts.append(f"not produced by the running features: {extra}")
    if not missing and not extra:
        moved = [
            f"position {i}: model has {a!r}, running features have {b!r}"
            for i, (a, b) in enumerate(zip(found, expected))
            if a != b
        ]
        parts.append("order differs: " + "; ".join(moved))
    return "; ".join(parts)


def _read_manifest(folder: Path) -> tuple[dict[str, Any], Location]:
    path = folder / MANIFEST_FILE
    loc = Location(file=str(path))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelError("model manifest is missing", loc) from None
    except OSError as exc:
        raise ModelError(f"cannot read model manifest: {exc}", loc) from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ModelError(f"manifest is not valid JSON: {exc}", loc) from None
    if not isinstance(doc, dict):
        raise ModelError(f"manifest must be a JSON object, got {type(doc).__name__}", loc)
    return doc, loc


def load_forest(folder: str | os.PathLike[str], expected_features: list[str]) -> CompiledForest:
    """Load a forest saved by :func:`save_forest`, verifying it before use.

    ``expected_features`` are the running feature extractor's column names
    in order; the model's must be identical (same names, same order),
    otherwise it would silently score the wrong columns. Every file listed in
    the manifest is hashed and compared; the arrays are read from the very
    bytes that were hashed, with ``allow_pickle=False``. Any failure raises
    :class:`~engine.errors.ModelError` located at the offending file.
    """
    root = Path(folder)
    doc, mloc = _read_manifest(root)

    fmt, version = doc.get("format"), doc.get("version")
    if fmt != FORMAT:
        raise ModelError(f"unknown model format {fmt!r}; expected {FORMAT!r}", mloc)
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise ModelError(
            f"unknown format version {version!r}; this engine reads versions {sorted(SUPPORTED_VERSIONS)}", mloc
        )

    names = doc.get("feature_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelError("manifest 'feature_names' must be a list of strings", mloc)
    if len(set(names)) != len(names):
        raise ModelError("manifest 'feature_names' has duplicates", mloc)
    n_features = doc.get("n_features")
    if type(n_features) is not int or n_features != len(names):
        raise ModelError(f"manifest 'n_features' is {n_features!r} but {len(names)} feature names are listed", mloc)

    hashes = doc.get("sha256")
    if not isinstance(hashes, dict) or not all(isinstance(v, str) for v in hashes.values()):
        raise ModelError("manifest 'sha256' must map file names to hex digests", mloc)
    if FOREST_FILE not in hashes:
        raise ModelError(f"manifest 'sha256' does not list {FOREST_FILE}", mloc)
    contents: dict[str, bytes] = {}
    for name, want in hashes.items():
        if name in ("", ".", "..") or "/" in name or "\\" in name or name == MANIFEST_FILE:
            raise ModelError(f"manifest 'sha256' lists an invalid file name {name!r}", mloc)
        path = root / name
        floc = Location(file=str(path))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelError(f"model file {name} is missing", floc) from None
        except OSError as exc:
            raise ModelError(f"cannot read model file {name}: {exc}", floc) from None
        got = _sha256(data)
        if got != want.lower():
            raise ModelError(f"sha256 mismatch for {name}: manifest says {want}, file has {got}", floc)
        contents[name] = data

    expected = list(expected_features)
    if names != expected:
        raise ModelError(f"model features do not match the running features: {_feature_diff(names, expected)}", mloc)

    floc = Location(file=str(root / FOREST_FILE))
    arrays: dict[str, np.ndarray] = {}
    try:
        npz = np.load(io.BytesIO(contents[FOREST_FILE]), allow_pickle=False)
        if not isinstance(npz, NpzFile):
            raise ModelError(f"{FOREST_FILE} is not an npz archive", floc)
        try:
            keys = set(npz.files)
            if keys != set(_ARRAYS):
                raise ModelError(f"{FOREST_FILE} arrays are {sorted(keys)}; expected {sorted(_ARRAYS)}", floc)
            for key, (kinds, ndim) in _ARRAYS.items():
                arr = npz[key]
                if arr.dtype.kind not in kinds or arr.ndim != ndim:
                    raise ModelError(
                        f"{FOREST_FILE} array {key!r} has dtype {arr.dtype} and {arr.ndim} dims; "
                        f"expected kind {kinds!r} and {ndim} dims",
                        floc,
                    )
                arrays[key] = arr
        finally:
            npz.close()
    except ModelError:
        raise
    except ValueError as exc:
        # allow_pickle=False raises ValueError for pickles and object arrays.
        raise ModelError(f"{FOREST_FILE} refused: {exc}", floc) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelError(f"{FOREST_FILE} is not a readable npz archive: {exc}", floc) from None

    if int(arrays["n_features"]) != n_features:
        raise ModelError(
            f"{FOREST_FILE} is for {int(arrays['n_features'])} features but the manifest lists {n_features}", floc
        )
    try:
        return CompiledForest(
            feature=arrays["feature"],
            threshold=arrays["threshold"],
            children=arrays["children"],
            missing_left=arrays["missing_left"],
            leaf_value=arrays["leaf_value"],
            roots=arrays["roots"],
            max_depth=int(arrays["max_depth"]),
            offset=float(arrays["offset"]),
            max_samples=int(arrays["max_samples"]),
            n_features_in=int(arrays["n_features"]),
        )
    except ValueError as exc:
        raise ModelError(f"{FOREST_FILE} does not hold a valid forest: {exc}", floc) from None
