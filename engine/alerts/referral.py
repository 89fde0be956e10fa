"""Cross-region referral packages (跨区域移送 / 红盾云桥): self-contained, hash-verified evidence.

When a merchant operates outside the deployment's regions the alert is
referred to the bureau where it operates. The package carries everything that
bureau needs to check the lead without access to this deployment: the alert,
the source events as they were received, the rule's YAML text, the pack name
and version, the model version if a model scored it, a Chinese covering
letter, and the SHA-256 of each part and of the whole package.

Hashes are over canonical JSON (orjson, sorted keys) of each part, so
re-formatting the file does not break them and any change of content does.
The rule text is also hashed as UTF-8 bytes, and raw event lines as given,
so a receiver can match them with the platform's own logs. In the optional
zip, each part is a file whose bytes hash to the recorded value (see
``SHA256SUMS``), checkable with ``sha256sum -c``.
"""
from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import orjson

from engine.alerts.alert import Alert, AlertRoute
from engine.alerts.store.hashing import canonical, sha256_hex

FORMAT = "hongdun-referral"
FORMAT_VERSION = 1
_CHINA = timezone(timedelta(hours=8))
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same package gives the same zip bytes


def build_referral(alert: Alert, source_events: Sequence[Mapping[str, Any] | bytes | str], rule_text: str,
                   pack: str, pack_version: str, model_version: str | None = None, *,
                   route: AlertRoute | None = None, sender: str = "", created_at: str | None = None) -> dict[str, Any]:
    """A referral package for ``alert`` as a JSON-ready dict.

    ``source_events`` are the events as received: raw JSON lines (bytes/str)
    or decoded objects; raw lines also get the hash of their exact bytes.
    Events the alert names but that are not given are listed under
    ``missing_source_event_ids``. ``created_at`` defaults to the alert's
    processing time so that the same input gives the same package.
    """
    route = route or alert.route
    events: list[Any] = []
    raw_hashes: list[str | None] = []
    for ev in source_events:
        if isinstance(ev, (bytes, str)):
            raw = ev.encode("utf-8") if isinstance(ev, str) else ev
            raw_hashes.append(sha256_hex(raw.rstrip(b"\r\n")))
            events.append(orjson.loads(raw))
        else:
            raw_hashes.append(None)
            events.append(dict(ev))
    given = {e.get("event_id") for e in events if isinstance(e, dict)}
    parts = {
        "alert": msgspec.to_builtins(alert),
        "source_events": events,
        "rule": {"pack": pack, "pack_version": pack_version, "rule_id": alert.rule_id, "text": rule_text},
        "model": {"version": model_version} if model_version else None,
    }
    package: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "referral_id": alert.alert_id,
        "created_at": created_at or alert.processed_at,
        "letter": _letter(alert, route, sender, pack, pack_version),
        "route": msgspec.to_builtins(route) if route else None,
        "missing_source_event_ids": [i for i in alert.source_event_ids if i not in given],
        "parts": parts,
        "sha256": {
            **{name: sha256_hex(canonical(part)) for name, part in parts.items()},
            "source_event_items": [sha256_hex(canonical(e)) for e in events],
            "source_event_raw": raw_hashes,
            "rule_text": sha256_hex(rule_text.encode("utf-8")),
        },
    }
    package["package_sha256"] = _package_hash(package)
    return package


def verify_referral(package: Mapping[str, Any]) -> list[str]:
    """Recompute every hash of a package; return what does not match (empty if intact)."""
    problems: list[str] = []
    try:
        parts, recorded = package["parts"], package["sha256"]
        for name, part in parts.items():
            _check(problems, f"sha256.{name}", recorded.get(name), sha256_hex(canonical(part)))
        for i, ev in enumerate(parts["source_events"]):
            items = recorded.get("source_event_items", [])
            _check(problems, f"sha256.source_event_items[{i}]", items[i] if i < len(items) else None,
                   sha256_hex(canonical(ev)))
        _check(problems, "sha256.rule_text", recorded.get("rule_text"), sha256_hex(parts["rule"]["text"].encode("utf-8")))
        _check(problems, "package_sha256", package.get("package_sha256"), _package_hash(package))
    except (KeyError, TypeError, AttributeError) as exc:
        problems.append(f"not a referral package: missing or malformed {exc}")
    return problems


def write_referral(package: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a package as JSON, or as a zip of its parts if ``path`` ends in ``.zip``; return the path.

    The file is written next to its target and moved into place, so a reader
    never sees half a package.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = orjson.dumps(package, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    data = _zip(package, doc) if target.suffix == ".zip" else doc + b"\n"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def read_referral(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a package written by :func:`write_referral` (JSON or zip)."""
    target = Path(path)
    if target.suffix == ".zip":
        with zipfile.ZipFile(target) as zf:
            return orjson.loads(zf.read("referral.json"))
    return orjson.loads(target.read_bytes())


def rule_text_from_pack(pack_dir: str | os.PathLike[str], rule_id: str) -> str:
    """The YAML text of one rule, cut from its pack file (the rule as the engine ran it).

    Raises ``KeyError`` if the pack has no such rule.
    """
    from engine.rules.loader import load_pack

    pack = load_pack(Path(pack_dir))
    rule = next((r for r in pack.rules if r.id == rule_id), None)
    if rule is None or rule.loc.file is None or rule.loc.line is None:
        raise KeyError(rule_id)
    lines = Path(rule.loc.file).read_text(encoding="utf-8").splitlines()
    start = rule.loc.line - 1
    indent = (rule.loc.col or 1) - 1  # column of the rule's keys; "- " sits before them
    block = [lines[start]]
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip(" ")) < indent:
            break
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    return "\n".join(block) + "\n"


def _package_hash(package: Mapping[str, Any]) -> str:
    return sha256_hex(canonical({k: v for k, v in package.items() if k != "package_sha256"}))


def _check(problems: list[str], what: str, recorded: Any, computed: str) -> None:
    if recorded != computed:
        problems.append(f"{what}: recorded {recorded}, computed {computed}")


def _zip(package: Mapping[str, Any], doc: bytes) -> bytes:
    parts = package["parts"]
    files = {
        "referral.json": doc + b"\n",
        "alert.json": canonical(parts["alert"]),
        "source_events.json": canonical(parts["source_events"]),
        "rule.yaml": parts["rule"]["text"].encode("utf-8"),
        "rule.json": canonical(parts["rule"]),
        "model.json": canonical(parts["model"]),
    }
    sums = "".join(f"{sha256_hex(data)}  {name}\n" for name, data in files.items())
    files["SHA256SUMS"] = sums.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _china_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(_CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _letter(alert: Alert, route: AlertRoute | None, sender: str, pack: str, pack_version: str) -> dict[str, str]:
    """The covering letter (案件线索移送函) a regulator reads first."""
    m = alert.merchant
    to = route.region_code if route else m.op_region_code
    uscc = f"，统一社会信用代码 {m.uscc}" if m.uscc else ""
    last = f"，最近一次 {_china_time(alert.last_seen)}" if alert.last_seen else ""
    summary = (
        f"{sender or '本局'}在网络交易事前预警监测中发现：平台「{alert.platform}」内经营者「{m.name or m.merchant_id}」"
        f"（平台经营者编号 {m.merchant_id}{uscc}，实际经营地行政区划代码 {m.op_region_code}）涉嫌“{alert.rule_title}”。"
        f"{alert.message} 该线索由规则 {alert.rule_id}（规则包 {pack} {pack_version}）发现，命中 {alert.hits} 次，"
        f"首次 {_china_time(alert.event_time)}{last}（北京时间）。"
    )
    basis = route.basis if route else "依据《市场监督管理行政处罚程序规定》第十条，平台内经营者的违法行为由其实际经营地县级以上市场监督管理部门管辖。"
    return {
        "title": "案件线索移送函（跨区域协查）",
        "from": sender,
        "to_region_code": to,
        "summary": summary,
        "basis": basis,
        "request": "现将线索及证据材料移送贵局，请依法核查处理，并将处理结果反馈我局。证据各部分及整体的 SHA-256 摘要附后，可据以校验完整性。",
    }
