"""The strict YAML reader of rule packs (engine/rules/yamlsrc.py).

It must refuse what makes YAML dangerous or ambiguous in a file many people
edit (aliases, tags, duplicate keys, huge or deeply nested documents, other
encodings) with a located PackError, and it must remember where every key
and value (and the content of a block scalar) starts, because lint points
there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from engine.errors import Location, PackError, PackErrors
from engine.rules.lint import lint_pack
from engine.rules.loader import load_pack
from engine.rules.yamlsrc import MAX_DEPTH, MAX_FILE_BYTES, LList, LMap, LStr, load_yaml_file, load_yaml_text

STARTER = Path(__file__).parents[2] / "rules" / "starter"


def _refuse(text: str, file: str = "f.yaml") -> PackError:
    with pytest.raises(PackError) as info:
        load_yaml_text(text, file)
    return info.value


def _starter_copy(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(STARTER, pack)
    return pack


def _errors(pack: Path) -> list[PackError]:
    with pytest.raises(PackErrors) as info:
        load_pack(pack)
    return info.value.errors


# -- anchors and aliases ------------------------------------------------------


def test_alias_is_refused_with_a_location() -> None:
    err = _refuse("a: &x 1\nb: *x\n")
    assert "anchors and aliases are not allowed" in err.message
    assert err.location.file == "f.yaml" and err.location.line is not None and err.location.col is not None


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['lol0: &l0 "lol"']
    for i in range(1, 10):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"lol{i}: &l{i} [{refs}]")
    text = "\n".join(lines) + "\n"
    start = time.perf_counter()
    err = _refuse(text)
    assert time.perf_counter() - start < 2.0  # 10**9 strings were never built
    assert "aliases" in err.message


def test_recursive_alias_is_refused() -> None:
    err = _refuse("a: &x [1, *x]\n")
    assert "aliases" in err.message


def test_merge_key_is_refused() -> None:
    # "<<: *base" needs an alias; even the merge key alone is a tag we do not construct.
    with pytest.raises(PackError):
        load_yaml_text("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "f.yaml")
    err = _refuse("other:\n  <<: {x: 1}\n")
    assert "merge" in err.message or "not allowed" in err.message


def test_alias_in_a_pack_is_a_located_pack_error(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    basis = '{law: 中华人民共和国广告法, version: "2021-04-29", article: 第九条}'
    (pack / "shared.yaml").write_text(f"rules:\n  - id: X-01\n    basis: &b {basis}\n  - id: X-02\n    basis: *b\n", encoding="utf-8")
    errors = _errors(pack)
    (err,) = [e for e in errors if "aliases" in e.message]
    assert err.location.file.endswith("shared.yaml") and err.location.line == 3
    assert not any(e.location.rule_id in ("X-01", "X-02") for e in errors)  # the whole file is refused


# -- tags: refused and never constructed --------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/object/apply:os.system\n  args: ['touch {marker}']",
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
        "!!python/name:os.system",
        "!!python/module:os",
        '!!python/tuple [1, 2]',
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!omap [{a: 1}]",
        "!custom {a: 1}",
        "!!str 2021-04-29",  # an explicit str tag is fine (see below); kept to check no crash
    ],
)
def test_tags_are_refused_and_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    marker = tmp_path / "pwned"
    text = "x: " + value.replace("{marker}", str(marker)) + "\n"
    try:
        doc = load_yaml_text(text, "f.yaml")
    except PackError as err:
        assert "tag" in err.message and "not allowed" in err.message
        assert err.location.line == 1
    else:
        assert value.startswith("!!str") and doc == {"x": "2021-04-29"}
    assert not marker.exists()
    assert calls == []


def test_python_tag_in_a_rule_file_is_reported_not_run(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    marker = tmp_path / "pwned"
    (pack / "evil.yaml").write_text(f'rules: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    errors = _errors(pack)
    assert [e.location.file.endswith("evil.yaml") for e in errors] == [True]
    assert "not allowed" in errors[0].message and errors[0].location.line == 1
    assert not marker.exists()


def test_unquoted_timestamps_are_refused() -> None:
    err = _refuse("version: 2021-04-29\n")
    assert "timestamp" in err.message
    assert load_yaml_text('version: "2021-04-29"\n', "f.yaml") == {"version": "2021-04-29"}


@pytest.mark.parametrize("value", [".inf", "-.Inf", ".NaN"])
def test_infinite_and_nan_numbers_are_refused(value: str) -> None:
    assert "infinite or NaN" in _refuse(f"x: {value}\n").message


def test_overflowing_float_is_refused() -> None:
    _refuse("x: 1.0e+400\n")


# -- duplicate keys -------------------------------------------------------------


def test_duplicate_key_names_both_lines() -> None:
    err = _refuse("a: 1\nb: 2\na: 3\n")
    assert "duplicate key 'a'" in err.message
    assert "first at line 1" in err.message
    assert (err.location.line, err.location.col) == (3, 1)


def test_nested_duplicate_key_names_both_lines() -> None:
    text = "rules:\n  - id: X-1\n    severity: low\n    title: t\n    severity: high\n"
    err = _refuse(text)
    assert "duplicate key 'severity' (first at line 3)" in err.message
    assert (err.location.line, err.location.col) == (5, 5)


def test_duplicate_key_in_flow_mapping() -> None:
    err = _refuse("x: {a: 1, a: 2}\n")
    assert "duplicate key 'a' (first at line 1)" in err.message
    assert (err.location.line, err.location.col) == (1, 11)


def test_duplicate_key_in_a_rule_file_is_reported_by_lint(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    path = pack / "price.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(n for n, l in enumerate(lines) if l.strip() == "severity: medium")
    lines.insert(i + 1, "    severity: high\n")
    path.write_text("".join(lines), encoding="utf-8")
    errors, _ = lint_pack(str(pack))
    dup = [e for e in errors if "duplicate key 'severity'" in e.message]
    assert len(dup) == 1
    assert f"(first at line {i + 1})" in dup[0].message
    assert dup[0].location.line == i + 2
    assert str(dup[0]).startswith(f"{dup[0].location.file}:{i + 2}:5: ")


def test_non_string_keys_are_refused() -> None:
    assert "keys must be strings" in _refuse("1: a\n").message
    assert "keys must be strings" in _refuse("? [a, b]\n: c\n").message
    assert "keys must be strings" in _refuse("~: a\n").message


# -- encoding and size --------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "pack: café\n".encode("latin-1"),
        "pack: 红盾\n".encode("gbk"),
        "pack: x\n".encode("utf-16"),
        b"pack: x\n\xff\n",
    ],
)
def test_non_utf8_file_is_refused_with_its_name(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "pack.yaml"
    path.write_bytes(raw)
    with pytest.raises(PackError) as info:
        load_yaml_file(path, "pack.yaml")
    assert "not UTF-8" in info.value.message
    assert info.value.location.file == "pack.yaml"


def test_non_utf8_pack_yaml_through_load_pack(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    (pack / "pack.yaml").write_bytes("pack: 红盾\nversion: 1\n".encode("gbk"))
    (err,) = _errors(pack)
    assert "not UTF-8" in err.message and err.location.file.endswith("pack.yaml")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"\xef\xbb\xbfpack: x\n")
    assert load_yaml_file(path) == {"pack": "x"}


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(PackError) as info:
        load_yaml_file(path, "big.yaml")
    assert "larger than" in info.value.message and info.value.location.file == "big.yaml"


def test_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    head = b"a: 1\n# "
    path.write_bytes(head + b"x" * (MAX_FILE_BYTES - len(head) - 1) + b"\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_yaml_file(path) == {"a": 1}


def test_oversized_text_is_measured_in_utf8_bytes() -> None:
    # fewer characters than the limit, but more bytes (3 per CJK character)
    text = "a: " + "红" * (MAX_FILE_BYTES // 3 + 10) + "\n"
    assert len(text) < MAX_FILE_BYTES
    assert "larger than" in _refuse(text).message


def test_oversized_rule_file_is_reported_and_others_still_load(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    (pack / "huge.yaml").write_bytes(b"rules: []\n#" + b"x" * MAX_FILE_BYTES)
    errors: list[PackError] = []
    loaded = load_pack(pack, collect=errors)
    assert [e.location.file.endswith("huge.yaml") for e in errors] == [True]
    assert {r.id for r in loaded.rules} >= {"ST-AD-01", "ST-PR-01"}


# -- nesting ------------------------------------------------------------------


def test_nesting_up_to_the_limit_is_accepted() -> None:
    doc = load_yaml_text("[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH, "f.yaml")
    for _ in range(MAX_DEPTH):
        assert isinstance(doc, LList)
        doc = doc[0]
    assert doc == 1


def test_nesting_beyond_the_limit_is_refused() -> None:
    err = _refuse("[" * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1))
    assert f"deeper than {MAX_DEPTH}" in err.message
    assert err.location.line == 1 and err.location.col is not None


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_very_deep_nesting_is_a_pack_error_not_a_crash(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth):
        err = _refuse(text)
        assert err.location.file == "f.yaml"


def test_deep_block_mappings_are_refused() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "x\n"
    assert "deeper than" in _refuse(text).message


# -- syntax errors ------------------------------------------------------------


def test_syntax_error_has_line_and_column() -> None:
    err = _refuse("a: [1, 2\nb: 3\n")
    assert err.message.startswith("YAML syntax error")
    assert err.location.file == "f.yaml" and err.location.line is not None and err.location.col is not None


def test_colon_in_plain_condition_is_a_located_syntax_error() -> None:
    err = _refuse('when: matches(title, "a: b")\n')
    assert err.message.startswith("YAML syntax error") and (err.location.line, err.location.col) == (1, 24)


def test_control_character_error_has_a_line() -> None:
    err = _refuse("a: 1\nb: x\x07y\n")
    assert err.location.line == 2
    assert "\n" not in err.message


def test_multiple_documents_are_refused() -> None:
    err = _refuse("a: 1\n---\nb: 2\n")
    assert err.location.line is not None


def test_empty_and_comment_only_documents_are_none() -> None:
    assert load_yaml_text("", "f.yaml") is None
    assert load_yaml_text("# nothing here\n", "f.yaml") is None


# -- plain values -------------------------------------------------------------


def test_scalar_types() -> None:
    doc = load_yaml_text(
        "i: 12\nneg: -3\nhex: 0x1f\nunder: 1_000\noct: 017\nf: 0.85\nt: true\nyes_: yes\nno_: no\nn: null\ntilde: ~\ns: 红盾\n",
        "f.yaml",
    )
    assert doc == {
        "i": 12, "neg": -3, "hex": 31, "under": 1000, "oct": 15, "f": 0.85, "t": True, "yes_": True,
        "no_": False, "n": None, "tilde": None, "s": "红盾",
    }
    assert type(doc["i"]) is int and type(doc["t"]) is bool and type(doc["s"]) is LStr


def test_overlong_integer_literal_is_refused() -> None:
    assert "too long" in _refuse("x: " + "9" * 40 + "\n").message


# -- locations ----------------------------------------------------------------

LOC_TEXT = """\
rules:
  - id: ST-X-01
    when: |
      ref_price != null
      and ref_price > 1
    message: "商品{title}"
    note: 'single'
    plain: plain text
    folded: >-

        folded text
    tags: [a, b]
    nested:
      - {k: v, k2: [1, 2]}
"""


def _loc(loc: Location) -> tuple[int | None, int | None]:
    return loc.line, loc.col


@pytest.fixture
def located() -> LMap:
    doc = load_yaml_text(LOC_TEXT, "r.yaml")
    assert isinstance(doc, LMap)
    return doc


def test_locations_of_keys(located: LMap) -> None:
    assert _loc(located.key_locs["rules"]) == (1, 1)
    rule = located["rules"][0]
    assert _loc(rule.key_locs["id"]) == (2, 5)
    assert _loc(rule.key_locs["when"]) == (3, 5)
    assert _loc(rule.key_locs["message"]) == (6, 5)
    assert _loc(rule.key_locs["tags"]) == (12, 5)
    inner = rule["nested"][0]
    assert _loc(inner.key_locs["k"]) == (14, 10)
    assert _loc(inner.key_locs["k2"]) == (14, 16)
    assert all(l.file == "r.yaml" for l in rule.key_locs.values())


def test_locations_of_values(located: LMap) -> None:
    assert _loc(located.loc) == (1, 1)
    rules = located["rules"]
    assert _loc(located.loc_of("rules")) == (2, 3)  # the sequence starts at its first "-"
    assert _loc(rules.loc_of(0)) == (2, 5)
    rule = rules[0]
    assert _loc(rule.loc) == (2, 5)
    assert _loc(rule.loc_of("id")) == (2, 9)
    assert _loc(rule.loc_of("when")) == (3, 11)  # the "|" indicator
    assert _loc(rule.loc_of("message")) == (6, 14)  # the opening quote
    assert _loc(rule.loc_of("plain")) == (8, 12)
    tags = rule["tags"]
    assert _loc(tags.loc_of(0)) == (12, 12) and _loc(tags.loc_of(1)) == (12, 15)
    assert _loc(tags.loc_of(99)) == _loc(tags.loc)  # out of range: the list itself
    inner = rule["nested"][0]
    assert _loc(inner.loc_of("k")) == (14, 13)
    assert _loc(inner["k2"].loc_of(1)) == (14, 24)
    assert _loc(rule.loc_of("absent")) == _loc(rule.loc)  # absent key: the mapping


def test_values_are_strings_that_know_their_place(located: LMap) -> None:
    rule = located["rules"][0]
    assert rule["id"] == "ST-X-01" and isinstance(rule["id"], LStr) and not rule["id"].block
    assert _loc(rule["id"].loc) == _loc(rule.loc_of("id"))


def test_content_loc_of_quoted_and_plain_scalars(located: LMap) -> None:
    rule = located["rules"][0]
    assert _loc(rule["message"].content_loc) == (6, 15)  # after the opening quote
    assert _loc(rule["note"].content_loc) == (7, 12)
    assert _loc(rule["plain"].content_loc) == (8, 12)  # plain: where the value starts


def test_content_loc_of_block_scalars(located: LMap) -> None:
    rule = located["rules"][0]
    when = rule["when"]
    assert when.block and when == "ref_price != null\nand ref_price > 1\n"
    assert _loc(when.content_loc) == (4, 7)  # first content line, first non-blank column
    folded = rule["folded"]
    assert folded.block and folded.strip() == "folded text"
    assert _loc(folded.content_loc) == (11, 9)  # the blank line after the header is skipped


def test_content_loc_of_block_scalar_in_a_list() -> None:
    doc = load_yaml_text("items:\n  - |\n      first line\n      second\n", "f.yaml")
    item = doc["items"][0]
    assert _loc(item.loc) == (2, 5) and _loc(item.content_loc) == (3, 7)


def test_condition_error_in_a_literal_block_points_at_its_line(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    path = pack / "price.yaml"
    text = path.read_text(encoding="utf-8")
    assert "    when: >\n      ref_price != null\n" in text and "      and ref_price > window" in text
    text = text.replace("    when: >\n      ref_price != null\n", "    when: |\n      ref_price != null\n", 1)
    text = text.replace("      and ref_price > window", "      and ref_prise > window", 1)
    path.write_text(text, encoding="utf-8")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "ref_prise" in l)
    errors, _ = lint_pack(str(pack))
    (err,) = [e for e in errors if "ref_prise" in e.message]
    assert _loc(err.location) == (line, 11)
    assert err.location.rule_id == "ST-PR-01"


def test_condition_error_in_a_folded_block_points_at_its_line(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    path = pack / "price.yaml"
    text = path.read_text(encoding="utf-8")
    assert "    when: >\n" in text and "      and ref_price > window" in text
    text = text.replace("      and ref_price > window", "      and ref_prise > window", 1)
    path.write_text(text, encoding="utf-8")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "ref_prise" in l)
    errors, _ = lint_pack(str(pack))
    (err,) = [e for e in errors if "ref_prise" in e.message]
    assert _loc(err.location) == (line, 11)


def test_condition_error_in_a_quoted_value_points_at_its_column(tmp_path: Path) -> None:
    pack = _starter_copy(tmp_path)
    path = pack / "complaints.yaml"
    text = path.read_text(encoding="utf-8")
    assert "    when: window.complainants_7d.distinct >= 5\n" in text
    text = text.replace(
        "    when: window.complainants_7d.distinct >= 5\n", '    when: "window.complainants_7d.distinct >= 5 and titel"\n', 1
    )
    path.write_text(text, encoding="utf-8")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "and titel" in l)
    col = text.splitlines()[line - 1].index("titel") + 1
    errors, _ = lint_pack(str(pack))
    (err,) = [e for e in errors if "titel" in e.message]
    assert _loc(err.location) == (line, col)
