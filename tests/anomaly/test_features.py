"""Feature sets: the shipped ones load and compile; extraction is deterministic; errors are located."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.anomaly.features import FeatureStream, compile_features, feature_docs, load_feature_set
from engine.errors import Location, PackErrors
from engine.events.decode import EventDecoder

ROOT = Path(__file__).parents[2]
MODELS = sorted(p.parent for p in (ROOT / "models").glob("*/features.yaml"))


@pytest.mark.parametrize("folder", MODELS, ids=lambda p: p.name)
def test_shipped_feature_sets_compile_with_documented_units(folder: Path) -> None:
    fs = load_feature_set(folder / "features.yaml")
    assert fs.features and all(f.unit and f.description for f in fs.features)
    for etype in fs.events:
        compile_features(fs, etype)
    assert all(f"`{name}`" in feature_docs(fs) for name in fs.names)


@pytest.mark.parametrize("folder", MODELS, ids=lambda p: p.name)
def test_extraction_over_a_stream_is_deterministic_and_numeric(folder: Path, small_stream) -> None:
    fs = load_feature_set(folder / "features.yaml")
    decoder = EventDecoder()
    events = [e for _, e in ((l, decoder.decode(l, Location())) for l in small_stream[0].splitlines() if l.strip())
              if not hasattr(e, "reason")]
    first = FeatureStream(fs).process(events)
    second = FeatureStream(fs).process(events)
    assert first, f"the stream should hold {fs.events} events"
    assert [(i, [None if math.isnan(x) else x for x in v]) for i, v in first] == \
           [(i, [None if math.isnan(x) else x for x in v]) for i, v in second]
    assert all(len(v) == len(fs.names) for _, v in first)
    # every feature takes a real value somewhere (none is always null)
    for col, name in enumerate(fs.names):
        assert any(not math.isnan(v[col]) for _, v in first), name


def test_bad_feature_sets_are_refused_with_locations(tmp_path: Path) -> None:
    path = tmp_path / "features.yaml"
    path.write_text(
        "model: demo\nevents: [listing]\nfeatures:\n"
        "  price:\n    expr: display_prise\n    unit: yuan\n    description: d\n"
        "  title_len:\n    expr: title\n    unit: chars\n    description: d\n"
        "  bad:\n    expr: title.__class__\n    unit: x\n    description: d\n",
        encoding="utf-8",
    )
    with pytest.raises(PackErrors) as info:
        fs = load_feature_set(path)
        compile_features(fs, "listing")
    text = str(info.value)
    assert f"{path}:13:11:" in text and "names starting with '_'" in text
    fs_path = tmp_path / "ok.yaml"
    fs_path.write_text(path.read_text().split("  bad:")[0], encoding="utf-8")
    with pytest.raises(PackErrors) as info:
        compile_features(load_feature_set(fs_path), "listing")
    text = str(info.value)
    assert "display_prise" in text and ":5:" in text
    assert "'title_len' is a str, not a number" in text
