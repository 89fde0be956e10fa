"""Auth file: secrets are stored only as hashes, checked on load, and resolve to a platform or a bureau."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.service.auth import AuthError, Bureau, load_auth, parse_auth, token_hash


def test_tokens_command_writes_hashes_and_prints_secrets_once(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    r = CliRunner().invoke(main, ["tokens", "--out", str(path), "--platform", "demo-mall",
                                  "--bureau", "杭州市市场监督管理局=330100,330200"])
    assert r.exit_code == 0, r.output
    secrets = json.loads(r.output[: r.output.rindex("}") + 1])
    key = secrets["platforms"]["demo-mall"]
    token = secrets["bureaus"]["杭州市市场监督管理局"]["token"]
    text = path.read_text()
    assert key not in text and token not in text and token_hash(token) in text
    assert path.stat().st_mode & 0o077 == 0  # owner only
    auth = load_auth(path)
    assert auth.platform(key).platform == "demo-mall" and auth.bureau(key) is None
    assert auth.bureau(token) == Bureau("杭州市市场监督管理局", ("330100", "330200"))
    assert auth.platform(token) is None and auth.bureau("guess") is None and auth.bureau(None) is None
    again = CliRunner().invoke(main, ["tokens", "--out", str(path), "--platform", "x"])
    assert again.exit_code == 2 and "--force" in again.output  # never silently replaces live keys


def test_bureau_scope_uses_region_prefixes() -> None:
    city = Bureau("杭州", ("330100",))
    assert city.covers("330106") and city.covers("330100") and not city.covers("330206")
    assert Bureau("浙江", ("330000",)).covers("330206") and not Bureau("西湖", ("330106",)).covers("330108")


@pytest.mark.parametrize("doc, where", [
    ({"platforms": [{"platform": "x", "key_sha256": "abc"}]}, "$.platforms[0]"),
    ({"bureaus": [{"name": "x", "regions": ["33"], "token_sha256": "0" * 64}]}, "$.bureaus[0]"),
    ({"bureaus": [{"name": "x", "regions": [], "token_sha256": "0" * 64}]}, "$.bureaus[0]"),
    ({"bureaus": [{"name": "x", "regions": ["330100"], "token": "plain"}]}, "$.bureaus[0]"),
    ({"platforms": [], "admins": []}, None),
])
def test_bad_auth_files_are_refused_with_a_location(doc: dict, where: str | None) -> None:
    with pytest.raises(AuthError) as err:
        parse_auth(doc, "auth.json")
    assert "auth.json" in str(err.value)
    if where:
        assert where in str(err.value)
