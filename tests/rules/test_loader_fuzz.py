"""Property tests of the rule-pack loader: whatever the files hold, the loader
answers with a Pack or with located PackErrors, never with a crash.

Two generators feed it:

(a) random YAML-ish text (unicode plus YAML punctuation and pack keywords) as
    pack.yaml, and as a rule file next to a valid pack.yaml;
(b) the valid starter pack with random edits: a key deleted, a value replaced
    by a random value, a key duplicated.

The property: ``load_pack`` returns a Pack or raises PackError/PackErrors;
every error names a file of the pack, YAML syntax errors also a line; and
``lint_pack`` renders every error as ``file:line:col: ...`` or at least
``file: ...``.

Known engine bugs that these generators hit are listed in ``_known_bug``;
each has its own strict-xfail test at the end of this file, so the fuzzers
keep guarding against every *other* kind of failure, and fixing a bug turns
its xfail into a failure that tells you to remove the entry here.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from engine.errors import PackError, PackErrors
from engine.rules.lint import lint_pack
from engine.rules.loader import load_case_file, load_pack
from engine.rules.model import Pack
from engine.rules.yamlsrc import load_yaml_text

STARTER = Path(__file__).parents[2] / "rules" / "starter"
STARTER_FILES = sorted(p.name for p in STARTER.glob("*.yaml"))
LINT_LINE = re.compile(r"^\S+:\d+:\d+: ")

FUZZ = settings(
    max_examples=150,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain" phase
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# -- the property ---------------------------------------------------------------


def _innermost(exc: BaseException) -> traceback.FrameSummary:
    return traceback.extract_tb(exc.__traceback__)[-1]


def _frames(exc: BaseException) -> list[str]:
    return [f"{Path(f.filename).name}:{f.name}" for f in traceback.extract_tb(exc.__traceback__)]


def _known_bug(exc: BaseException) -> str | None:
    """Name a known, not yet fixed engine bug behind an unexpected exception (none at present)."""
    return None


_NO_FILE_MESSAGES = re.compile(r"(must be a mapping|: use lower_snake_case)$")


def _known_error_bug(err: PackError) -> str | None:
    """Name a known, not yet fixed engine bug behind a badly located error (none at present)."""
    return None


def _check_error(err: PackError, pack: Path) -> None:
    assert isinstance(err, PackError), err
    bug = _known_error_bug(err)
    if bug is not None:
        event(f"known bug: {bug}")
        return
    loc = err.location
    assert loc.file is not None, f"error without a file: {err!r}"
    assert Path(loc.file).name in {p.name for p in pack.rglob("*.yaml")}, f"error names a file outside the pack: {err}"
    if err.message.startswith(("YAML syntax error", "YAML error")):
        assert loc.line is not None, f"YAML problem without a line: {err}"
    if loc.line is not None:
        assert loc.line >= 1 and (loc.col is None or loc.col >= 1), err


def check_load(pack: Path) -> Pack | None:
    """load_pack returns a Pack or raises located PackErrors; known engine bugs are tolerated."""
    try:
        result = load_pack(pack)
    except PackErrors as exc:
        assert exc.errors, "PackErrors with no errors"
        for err in exc.errors:
            _check_error(err, pack)
        return None
    except PackError as exc:  # a single error is allowed by the contract too
        _check_error(exc, pack)
        return None
    except Exception as exc:  # noqa: BLE001 - the point of the property
        bug = _known_bug(exc)
        if bug is None:
            raise
        event(f"known bug: {bug}")
        return None
    assert isinstance(result, Pack)
    return result


def check_lint(pack: Path) -> None:
    """lint_pack answers with errors rendered as file:line:col: ... (or at least file: ...)."""
    try:
        errors, warnings = lint_pack(str(pack))
    except Exception as exc:  # noqa: BLE001
        bug = _known_bug(exc)
        if bug is None:
            raise
        event(f"known bug: {bug}")
        return
    for err in errors:
        _check_error(err, pack)
        if _known_error_bug(err):
            continue
        text = str(err)
        assert LINT_LINE.match(text) or text.startswith(f"{err.location.file}: "), f"bad lint line: {text!r}"
    for w in warnings:
        assert LINT_LINE.match(w), w


@contextmanager
def _pack_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hongdun-fuzz-") as d:
        yield Path(d)


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # lone surrogates -> a non-UTF-8 file


# -- (a) random YAML-ish text ----------------------------------------------------

_TOKENS = [
    ":", ": ", "- ", "-", "[", "]", "{", "}", ", ", "#", " #", "&a ", "*a", "!!", "!", "!!python/object/apply:os.system ",
    "|", ">", "'", '"', "? ", "%", "@", "`", "\n", "\n  ", "\n    ", "  ", "\t", "\r\n", "---\n", "...", "<<: ", "\\",
    "rules:", "pack: ", "version: ", "lists:", "windows:", "defaults:", "id: ", "title: ", "events: ", "when: ",
    "severity: ", "basis:", "family: ", "message: ", "examples:", "fire:", "quiet:", "event: ", "given:", "repeat: ",
    "every: ", "terms: ", "source: ", "key: ", "duration: ", "bucket: ", "aggregates: ", "value: ", "distinct: ",
    "exclude_recent: ", "escalate:", "dedup: ", "null", "~", "true", "no", "0", "1", "-1", "0x1f", "1.5", ".inf", "1e400",
    "24h", "30s", "0s", "7d", "45d", "listing", "order", "complaint", "count", "min", "ST-AD-01", "x", "红盾", "國家級",
    "\u200b", "\ufeff", "\x00", "\x07", "\x85", "\u2028", "2021-04-29", '"2026-11-11T10:00:00+08:00"',
    "window.complaints_24h.count >= 1", "contains_any(text, \"ad_ban\")", "{title}", "__class__",
]
# Mostly printable text: control characters make the YAML reader stop at once, which
# would leave the rest of the loader unexercised (a few are in _TOKENS and st.text()).
_printable = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=4)
_yamlish = st.lists(st.one_of(st.sampled_from(_TOKENS), _printable), max_size=80).map("".join)
_any_text = st.one_of(_yamlish, _yamlish, _yamlish, st.text(max_size=300))


@FUZZ
@given(text=_any_text)
@example(text="")
@example(text="# only a comment\n")
@example(text="pack: [")
@example(text="pack: x\nversion: 1\npack: y\n")
@example(text="a: &x 1\nb: *x\n")
@example(text="pack: x\nversion: 1\nwindows:\n  w:\n    events: [order]\n    key: sku_id\n    duration: 30s\n    aggregates: [count]\n")
@example(text="a: \x07\n")
@example(text="pack: \udcff\n")
def test_random_text_as_pack_yaml(text: str) -> None:
    with _pack_dir() as pack:
        _write(pack / "pack.yaml", text)
        check_load(pack)
        check_lint(pack)


@settings(FUZZ, max_examples=100)
@given(text=_any_text)
@example(text="")
@example(text="rules:\n")
@example(text="rules: [")
@example(text="foo: 1\n")
@example(text="5\n")
@example(text="rules: [5, null, true, x]\n")
@example(text="rules:\n  - {id: X-1, id: X-2}\n")
@example(text="rules:\n  - id: X-1\n    when: window.nope.count > 1\n")
def test_random_text_as_a_rule_file(text: str) -> None:
    with _pack_dir() as pack:
        shutil.copy(STARTER / "pack.yaml", pack / "pack.yaml")
        _write(pack / "random.yaml", text)
        check_load(pack)
        check_lint(pack)


# -- (b) mutations of the starter pack -------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Indent block sequences under their key, so a key's block is exactly its more-indented lines."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)


_INTERESTING = [
    "", " ", "0", "0s", "30s", "61s", "1m", "7h", "24h", "31d", "-1h", "1.5h", "listing", "order", "live_metrics",
    "count", "median", "distinct", "bucket_mean", "high", "urgent", "shadow", "disabled", "ST-AD-01", "st-ad-01",
    "ad_ban", "no_such_list", "sku_paid_7d", "window.sku_paid_7d.min", "window.nope.count", "title", "titel",
    "merchant.merchant_id", "text", "__import__('os')", "title.upper()", "title[0]", "x ** y", "display_price / 0",
    "contains_any(text, \"ad_bam\")", "matches(title, \"(\")", "{title}", "{", "{len(title)}", "2021-04-29", "2021",
    "2026-11-11T10:00:00+08:00", "9999-12-31T00:00:00+08:00", "not a time", "红盾", "國家級", "\u200b", "a: b", "x #y",
]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**13),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(_INTERESTING),
)
_KEYS = ["id", "when", "event", "event_type", "repeat", "every", "to", "by", "window", "subject", "law", "version", "article"]
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(max_size=6)), inner, max_size=3),
    max_leaves=6,
)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) pair below ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _slots(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _slots(v, out)
    return out


_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>(?:- +)*)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: |$)")


def _duplicate_a_key(text: str, pick: int) -> tuple[str, int, int, int] | None:
    """Copy one key (with its block) right after its block. Returns (text, new line, first line, col)."""
    lines = text.splitlines(keepends=True)
    keys = [(i, m) for i, l in enumerate(lines) if (m := _KEY_LINE.match(l))]
    if not keys:
        return None
    i, m = keys[pick % len(keys)]
    col = len(m.group("indent")) + len(m.group("dash"))
    end = i + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip(" ")) > col):
        end += 1
    copy = [" " * col + lines[i][col:]] + lines[i + 1 : end]
    new = lines[:end] + copy + lines[end:]
    return "".join(new), end + 1, i + 1, col + 1


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_mutated_starter_pack(data: st.DataObject) -> None:
    with _pack_dir() as root:
        pack = root / "pack"
        shutil.copytree(STARTER, pack)
        target = data.draw(st.sampled_from(STARTER_FILES), label="file")
        doc = yaml.safe_load((pack / target).read_text(encoding="utf-8"))
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            slots = _slots(doc, [])
            if not slots:  # the whole document was deleted
                break
            container, key = slots[data.draw(st.integers(0, len(slots) - 1), label="slot")]
            action = data.draw(st.sampled_from(["delete", "replace", "replace_scalar"]), label="action")
            if action == "delete":
                del container[key]
            elif action == "replace" or not isinstance(container[key], (dict, list)):
                container[key] = data.draw(_values, label="value")
            event(f"edit: {action} in {target}")
        text = _dump(doc)
        dup = None
        if data.draw(st.booleans(), label="duplicate a key"):
            dup_target = data.draw(st.sampled_from(STARTER_FILES), label="dup file")
            # re-dumped so that every key is on a line of its own (the originals have multi-line flow mappings)
            before = text if dup_target == target else _dump(yaml.safe_load((pack / dup_target).read_text(encoding="utf-8")))
            dup = _duplicate_a_key(before, data.draw(st.integers(0, 10_000), label="dup key"))
            if dup is not None:
                _check_duplicate_reported(before, *dup)
                if dup_target == target:
                    text = dup[0]
                else:
                    (pack / dup_target).write_text(dup[0], encoding="utf-8")
        (pack / target).write_text(text, encoding="utf-8")
        check_load(pack)
        check_lint(pack)


def _check_duplicate_reported(before: str, after: str, new_line: int, first_line: int, col: int) -> None:
    """A duplicated key in a file that read cleanly is reported at the copy, naming the first line."""
    try:
        load_yaml_text(before, "f.yaml")
    except PackError:
        return  # an earlier problem in the same file is reported first
    with pytest.raises(PackError) as info:
        load_yaml_text(after, "f.yaml")
    err = info.value
    assert err.message.startswith("duplicate key"), err
    assert f"(first at line {first_line})" in err.message, (err, first_line)
    assert (err.location.line, err.location.col) == (new_line, col), err


def test_the_starter_pack_itself_satisfies_the_property() -> None:
    pack = check_load(STARTER)
    assert pack is not None and pack.rules
    errors, warnings = lint_pack(str(STARTER))
    assert errors == []
    assert all(LINT_LINE.match(w) for w in warnings)


def test_duplicate_helper_finds_keys_inside_list_items() -> None:
    text = "rules:\n  - id: X-1\n    when: a\n    basis:\n      law: l\n  - id: X-2\n"
    new, line, first, col = _duplicate_a_key(text, 1)  # the "- id: X-1" line
    assert new.splitlines()[line - 1] == "    id: X-1" and (first, col) == (2, 5)
    with pytest.raises(PackError, match=r"duplicate key 'id' \(first at line 2\)"):
        load_yaml_text(new, "f.yaml")


# -- known engine bugs: one strict xfail each ------------------------------------
#
# Each reproduces a crash or a badly located error that the fuzzers above
# tolerate by name (see _known_bug / _known_error_bug). When a bug is fixed
# its test XPASSes, strict=True turns that into a failure: remove the xfail
# and the matching entry in _known_bug / _known_error_bug.


def _starter(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(STARTER, pack)
    return pack


def _must_report(pack: Path) -> list[PackError]:
    """load_pack must raise PackErrors (not anything else) and lint must return errors."""
    with pytest.raises(PackErrors) as info:
        load_pack(pack)
    errors, _ = lint_pack(str(pack))
    assert errors
    for err in [*info.value.errors, *errors]:
        assert err.location.file is not None, f"no file: {err!r}"
    return info.value.errors


def test_rule_file_without_rules_key_is_a_pack_error(tmp_path: Path) -> None:
    pack = _starter(tmp_path)
    (pack / "notes.yaml").write_text("owner: rules-team\n", encoding="utf-8")
    errors = _must_report(pack)
    assert any("missing required key 'rules'" in e.message for e in errors)


@pytest.mark.parametrize("missing", ["every", "event"])
def test_given_repeat_with_a_missing_key_is_a_pack_error(tmp_path: Path, missing: str) -> None:
    pack = _starter(tmp_path)
    path = pack / "livestream.yaml"
    text = path.read_text(encoding="utf-8")
    needle = "              every: 1m\n" if missing == "every" else (
        '              event: {event_type: live_metrics, room_id: R1, online_displayed: 9000, online_measured: 2000, '
        'occurred_at: "2026-11-11T20:00:00+08:00"}\n'
    )
    assert needle in text
    path.write_text(text.replace(needle, "", 1), encoding="utf-8")
    errors = _must_report(pack)
    assert any(f"missing required key '{missing}'" in e.message for e in errors)


@pytest.mark.parametrize(
    "old,new",
    [
        ("    duration: 15m\n    bucket: 1m\n", "    duration: 30s\n    bucket: 30s\n"),
        ("    duration: 15m\n    bucket: 1m\n", "    duration: 61s\n"),
        ("    duration: 7d\n    bucket: 1h\n", "    duration: 7d\n    bucket: 1m\n"),
        ("    duration: 29d\n    bucket: 1d\n    exclude_recent: 1d\n", "    duration: 2d\n    bucket: 1d\n    exclude_recent: 1d\n"),
        ("    duration: 29d\n    bucket: 1d\n    exclude_recent: 1d\n", "    duration: 29d\n    bucket: 1d\n    exclude_recent: 1h\n"),
        ("    aggregates: [count, mean, max]\n", "    aggregates: []\n"),
    ],
)
def test_window_the_engine_cannot_build_is_a_pack_error(tmp_path: Path, old: str, new: str) -> None:
    pack = _starter(tmp_path)
    path = pack / "pack.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    errors = _must_report(pack)
    assert all(e.location.line for e in errors)


def test_given_repeat_past_year_9999_is_a_pack_error(tmp_path: Path) -> None:
    pack = _starter(tmp_path)
    path = pack / "livestream.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("            - repeat: 10\n              every: 1m\n", "            - repeat: 5000\n              every: 30d\n", 1)
    text = text.replace('occurred_at: "2026-11-11T20:00:00+08:00"}', 'occurred_at: "9990-01-01T00:00:00+08:00"}', 1)
    path.write_text(text, encoding="utf-8")
    errors = _must_report(pack)
    assert any("every" in e.message or "occurred_at" in e.message or "repeat" in e.message for e in errors)


@pytest.mark.parametrize(
    "file,old,new",
    [
        ("pack.yaml", None, ""),
        ("pack.yaml", None, "5\n"),
        ("price.yaml", "    dedup:\n      window: 24h\n      subject: sku_id\n", "    dedup: 1.5\n"),
    ],
)
def test_error_about_a_non_mapping_names_the_file(tmp_path: Path, file: str, old: str | None, new: str) -> None:
    pack = _starter(tmp_path)
    path = pack / file
    if old is None:
        path.write_text(new, encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    errors = _must_report(pack)
    assert any("must be a mapping" in e.message for e in errors)
    for err in lint_pack(str(pack))[0]:
        assert LINT_LINE.match(str(err)) or str(err).startswith(f"{err.location.file}: "), str(err)


def test_rule_with_a_non_text_id_is_reported(tmp_path: Path) -> None:
    pack = _starter(tmp_path)
    path = pack / "price.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  - id: ST-PR-01\n", "  - id: 5\n", 1), encoding="utf-8")
    errors = _must_report(pack)
    assert any("id" in e.message for e in errors)


def test_defaults_that_is_not_a_mapping_is_reported(tmp_path: Path) -> None:
    pack = _starter(tmp_path)
    path = pack / "pack.yaml"
    text = path.read_text(encoding="utf-8")
    old = "defaults:\n  dedup: 24h\n  allowed_lateness: 1h\n"
    assert old in text
    path.write_text(text.replace(old, "defaults: [24h]\n", 1), encoding="utf-8")
    errors = _must_report(pack)
    assert any("defaults" in e.message for e in errors)


def test_basis_verified_must_be_a_boolean(tmp_path: Path) -> None:
    pack = _starter(tmp_path)
    path = pack / "price.yaml"
    text = path.read_text(encoding="utf-8")
    assert "        verified: false\n" in text
    path.write_text(text.replace("        verified: false\n", '        verified: "false"\n', 1), encoding="utf-8")
    errors = _must_report(pack)
    assert any("verified" in e.message for e in errors)


@pytest.mark.parametrize("text", ["other: 1\n", "cases:\n  - fire: []\n"])
def test_case_file_with_a_missing_key_is_reported(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    cases, errors = load_case_file(str(path), lambda rid: ("listing",))
    assert cases == [] and errors and all(e.location.file for e in errors)
