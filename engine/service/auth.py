"""Who may call the service: platform API keys (ingest) and bureau tokens (regulator API).

The auth file is JSON and holds only SHA-256 hashes of the secrets, so a
leaked config file does not leak a key::

    {"platforms": [{"platform": "demo-mall", "key_sha256": "…"}],
     "bureaus":   [{"name": "杭州市市场监督管理局", "regions": ["330100"], "token_sha256": "…"}]}

A platform key may only post events whose ``platform`` field is its own
platform. A bureau token sees and changes only alerts whose merchant operates
inside one of its region codes (``xx0000`` a province, ``xxxx00`` a city,
else a district), enforced in the store query, not only in the UI.
Secrets are random 32-byte URL-safe strings; they are looked up by hash, so
comparison time does not depend on the secret.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from engine.alerts.routing import region_prefix
from engine.errors import HongdunError, Location


class AuthError(HongdunError):
    """The auth file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Platform:
    """A platform allowed to post events."""

    platform: str


@dataclass(frozen=True)
class Bureau:
    """A regulator (bureau) and the region codes its token may see."""

    name: str
    regions: tuple[str, ...]

    def covers(self, code: str) -> bool:
        """True if region ``code`` lies inside one of this bureau's regions."""
        return any(code.startswith(region_prefix(r)) for r in self.regions)


def token_hash(secret: str) -> str:
    """The SHA-256 hex digest under which a secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Auth:
    """Platform keys and bureau tokens by hash."""

    platforms: dict[str, Platform]
    bureaus: dict[str, Bureau]

    def platform(self, secret: str | None) -> Platform | None:
        """The platform whose API key is ``secret``, or None."""
        return self.platforms.get(token_hash(secret)) if secret else None

    def bureau(self, secret: str | None) -> Bureau | None:
        """The bureau whose token is ``secret``, or None."""
        return self.bureaus.get(token_hash(secret)) if secret else None

    def platform_names(self) -> list[str]:
        """Every configured platform (bounded: usable as a metric label)."""
        return sorted({p.platform for p in self.platforms.values()})


def _hash_field(entry: dict[str, Any], key: str, where: Location) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise AuthError(f"`{key}` must be a 64-character lowercase SHA-256 hex digest", where)
    return value


def parse_auth(doc: Any, name: str = "<auth>") -> Auth:
    """Check and build an :class:`Auth` from the parsed JSON document."""
    if not isinstance(doc, dict) or set(doc) - {"platforms", "bureaus"}:
        raise AuthError("expected an object with `platforms` and `bureaus` lists only", Location(file=name))
    platforms: dict[str, Platform] = {}
    bureaus: dict[str, Bureau] = {}
    for i, entry in enumerate(doc.get("platforms", [])):
        where = Location(file=name, path=f"$.platforms[{i}]")
        if not isinstance(entry, dict) or set(entry) != {"platform", "key_sha256"}:
            raise AuthError("a platform entry has exactly `platform` and `key_sha256`", where)
        if not isinstance(entry["platform"], str) or not entry["platform"]:
            raise AuthError("`platform` must be a non-empty string", where)
        platforms[_hash_field(entry, "key_sha256", where)] = Platform(entry["platform"])
    for i, entry in enumerate(doc.get("bureaus", [])):
        where = Location(file=name, path=f"$.bureaus[{i}]")
        if not isinstance(entry, dict) or set(entry) != {"name", "regions", "token_sha256"}:
            raise AuthError("a bureau entry has exactly `name`, `regions` and `token_sha256`", where)
        regions = entry["regions"]
        if not isinstance(regions, list) or not regions:
            raise AuthError("`regions` must be a non-empty list of 6-digit region codes", where)
        try:
            for r in regions:
                region_prefix(r)
        except ValueError as exc:
            raise AuthError(str(exc), where) from None
        digest = _hash_field(entry, "token_sha256", where)
        if digest in platforms:
            raise AuthError("the same secret is both a platform key and a bureau token", where)
        bureaus[digest] = Bureau(str(entry["name"]), tuple(regions))
    return Auth(platforms, bureaus)


def load_auth(path: Path) -> Auth:
    """Read the auth file at ``path``."""
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise AuthError(f"cannot read: {exc.strerror}", Location(file=str(path))) from None
    except orjson.JSONDecodeError as exc:
        raise AuthError(f"not valid JSON: {exc}", Location(file=str(path))) from None
    return parse_auth(doc, str(path))


def new_secret(kind: str) -> str:
    """A fresh random secret, prefixed by its kind (``p`` platform, ``b`` bureau) so people can tell them apart."""
    return f"hd{kind}_{secrets.token_urlsafe(32)}"


def make_auth(platforms: list[str], bureaus: list[tuple[str, list[str]]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new auth document and the plain secrets (shown once, never stored by hongdun).

    Returns ``(doc, secrets)`` where ``secrets`` maps ``platforms``/``bureaus``
    names to their keys/tokens.
    """
    doc: dict[str, Any] = {"platforms": [], "bureaus": []}
    shown: dict[str, Any] = {"platforms": {}, "bureaus": {}}
    for p in platforms:
        key = new_secret("p")
        doc["platforms"].append({"platform": p, "key_sha256": token_hash(key)})
        shown["platforms"][p] = key
    for name, regions in bureaus:
        for r in regions:
            region_prefix(r)
        token = new_secret("b")
        doc["bureaus"].append({"name": name, "regions": list(regions), "token_sha256": token_hash(token)})
        shown["bureaus"][name] = {"regions": list(regions), "token": token}
    parse_auth(doc)  # same checks as loading
    return doc, shown


def write_auth(doc: dict[str, Any], path: Path) -> None:
    """Write an auth document readable by the owner only (it is hashes, but still access control)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)
