"""Read YAML rule files into plain values that remember where they came from.

PyYAML's composer gives every node a start mark; we convert the node tree
ourselves (never ``yaml.load``) so that:

* every mapping and sequence knows the file:line:col of each value and key,
  which lint needs to point at the exact spot of a mistake;
* only the plain YAML types are produced (str, int, float, bool, None, lists,
  maps): custom tags such as ``!!python/object`` are refused, not constructed;
* anchors and aliases are refused, which rules out "billion laughs" expansion;
* duplicate keys are errors instead of silently overwriting each other.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Location, PackError

try:  # the C composer is much faster on large packs; both give marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_BOOL_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}


class LMap(dict):
    """A mapping from YAML that knows where it, each key and each value start."""

    loc: Location
    key_locs: dict[str, Location]
    locs: dict[str, Location]

    def loc_of(self, key: str) -> Location:
        """Location of the value under ``key`` (or of the mapping when absent)."""
        return self.locs.get(key, self.loc)


class LList(list):
    """A sequence from YAML that knows where it and each item start."""

    loc: Location
    locs: list[Location]

    def loc_of(self, index: int) -> Location:
        """Location of item ``index``."""
        return self.locs[index] if 0 <= index < len(self.locs) else self.loc


class LStr(str):
    """A string from YAML with its location and where its *content* starts.

    ``content_loc`` points at the first character of the text itself (after an
    opening quote, or on the first line of a block scalar), so an error at
    column k of a condition can be reported at the right column of the file.
    """

    loc: Location
    content_loc: Location
    block: bool
    raw: str  # for block scalars: the lines as written (indent removed), so line numbers survive folding


def _mark_loc(file: str, mark: Any) -> Location:
    return Location(file=file, line=mark.line + 1, col=mark.column + 1)


class _Converter:
    def __init__(self, file: str, lines: list[str]) -> None:
        self.file = file
        self.lines = lines
        self.seen: set[int] = set()

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        loc = _mark_loc(self.file, node.start_mark)
        if depth > MAX_DEPTH:
            raise PackError(f"nesting deeper than {MAX_DEPTH} levels", loc)
        if id(node) in self.seen:
            raise PackError("YAML anchors and aliases are not allowed in rule packs", loc)
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise PackError(f"YAML tag {node.tag!r} is not allowed", loc)
            out = LMap()
            out.loc, out.key_locs, out.locs = loc, {}, {}
            for key_node, value_node in node.value:
                key = self.convert(key_node, depth + 1)
                key_loc = _mark_loc(self.file, key_node.start_mark)
                if not isinstance(key, str):
                    hint = " (YAML reads unquoted yes/no/on/off as true/false: quote the key)" if isinstance(key, bool) else ""
                    raise PackError(f"mapping keys must be strings, got {key!r}{hint}", key_loc)
                key = str(key)
                if key in out:
                    raise PackError(f"duplicate key {key!r} (first at line {out.key_locs[key].line})", key_loc)
                out[key] = self.convert(value_node, depth + 1)
                out.key_locs[key] = key_loc
                out.locs[key] = _mark_loc(self.file, value_node.start_mark)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise PackError(f"YAML tag {node.tag!r} is not allowed", loc)
            seq = LList()
            seq.loc, seq.locs = loc, []
            for item in node.value:
                seq.append(self.convert(item, depth + 1))
                seq.locs.append(_mark_loc(self.file, item.start_mark))
            return seq
        return self.scalar(node, loc)

    def scalar(self, node: yaml.ScalarNode, loc: Location) -> Any:
        tag, value = node.tag, node.value
        if tag == _STR:
            s = LStr(value)
            s.loc = loc
            s.block = node.style in ("|", ">")
            if node.style in ('"', "'"):
                s.content_loc = Location(file=loc.file, line=loc.line, col=(loc.col or 1) + 1)
            elif s.block:
                s.content_loc = self._block_content_loc(loc)
            else:
                s.content_loc = loc
            s.raw = self._block_raw(s.content_loc, node) if s.block else str(value)
            return s
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return value in _BOOL_TRUE
        if tag == _INT:
            text = value.replace("_", "")
            if len(text) > 30:
                raise PackError("integer literal too long", loc)
            try:
                return int(text, 0) if not re.fullmatch(r"[-+]?0[0-7]+", text) else int(text, 8)
            except ValueError as exc:
                raise PackError(f"bad integer {value!r}", loc) from exc
        if tag == _FLOAT:
            text = value.replace("_", "").lower()
            if text in (".inf", "+.inf", "-.inf", ".nan"):
                raise PackError(f"{value!r}: infinite or NaN numbers are not allowed", loc)
            try:
                number = float(text)
            except ValueError as exc:
                raise PackError(f"bad number {value!r}", loc) from exc
            if number != number or number in (float("inf"), float("-inf")):
                raise PackError(f"{value!r}: infinite or NaN numbers are not allowed", loc)
            return number
        raise PackError(f"YAML tag {tag!r} is not allowed", loc)

    def _block_raw(self, content: Location, node: yaml.ScalarNode) -> str:
        """The block's lines as written, with the block indentation removed."""
        first = (content.line or 1) - 1
        last = node.end_mark.line  # 0-based line after the block (exclusive when column is 0)
        if node.end_mark.column:
            last += 1
        indent = (content.col or 1) - 1
        lines = [l[indent:] if l[:indent].strip() == "" else l.lstrip() for l in self.lines[first:last]]
        return "\n".join(lines).rstrip()

    def _block_content_loc(self, loc: Location) -> Location:
        line_no = loc.line or 1  # the header line (| or >); content starts below it
        for idx in range(line_no, len(self.lines)):
            text = self.lines[idx]
            if text.strip():
                return Location(file=loc.file, line=idx + 1, col=len(text) - len(text.lstrip(" ")) + 1)
        return loc


def load_yaml_text(text: str, file: str) -> Any:
    """Parse YAML text into LMap/LList/LStr values; raise PackError with a location."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise PackError(f"file larger than {MAX_FILE_BYTES} bytes", Location(file=file))
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise PackError(f"character {exc.character!r} is not allowed in YAML ({exc.reason})", Location(file=file, line=line, col=col)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _mark_loc(file, mark) if mark is not None else Location(file=file)
        raise PackError(f"YAML syntax error: {exc.problem or exc.context}", loc) from None
    except yaml.YAMLError as exc:
        raise PackError(f"YAML error: {exc}", Location(file=file)) from None
    except (RecursionError, MemoryError):
        raise PackError("YAML document is nested too deeply", Location(file=file)) from None
    if node is None:
        return None
    return _Converter(file, text.splitlines()).convert(node)


def load_yaml_file(path: Path, display_name: str | None = None) -> Any:
    """Read and parse one YAML file; errors name the file as ``display_name`` (default: the path)."""
    name = display_name or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackError(f"cannot read file: {exc.strerror}", Location(file=name)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise PackError(f"file larger than {MAX_FILE_BYTES} bytes", Location(file=name))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackError(f"file is not UTF-8 (byte {exc.start})", Location(file=name)) from None
    return load_yaml_text(text, name)
