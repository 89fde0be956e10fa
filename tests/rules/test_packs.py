"""Conformance over every shipped pack: lint clean, every example passes, docs in sync."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.rules.docgen import BEGIN, END, rules_table
from engine.rules.evaluator import compile_pack
from engine.rules.lint import lint_pack
from engine.rules.loader import load_pack
from engine.rules.testing import run_pack_tests

ROOT = Path(__file__).parents[2]
PACKS = sorted(p.parent for p in (ROOT / "rules").glob("*/pack.yaml"))


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_pack_lints_clean_and_every_example_passes(pack: Path) -> None:
    errors, _ = lint_pack(str(pack))
    assert not errors, "\n".join(map(str, errors))
    results, case_errors = run_pack_tests(compile_pack(load_pack(pack)))
    failed = [f"{r.where}: {r.detail}" for r in results if not r.passed]
    assert not case_errors and not failed, "\n".join(case_errors + failed)


def test_cn_platform_is_complete() -> None:
    pack = load_pack(ROOT / "rules" / "cn-platform")
    assert len(pack.rules) >= 30
    families = {r.family for r in pack.rules}
    assert {"advertising", "medical", "price", "livestream", "merchant", "complaints"} <= families
    for rule in pack.rules:
        fire = sum(e.fire for e in rule.examples)
        quiet = sum(not e.fire for e in rule.examples)
        assert fire >= 2 and quiet >= 2, f"{rule.id}: {fire} fire / {quiet} quiet examples"
        assert rule.basis and all(b.law and b.version and b.article for b in rule.basis), rule.id
        assert all(b.verified or b.note.strip() for b in rule.basis), f"{rule.id}: an unverified article needs a note saying why"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.message), f"{rule.id}: message should be Chinese"


@pytest.mark.parametrize("pack", [p for p in PACKS if (p / "README.md").exists() and BEGIN in (p / "README.md").read_text()],
                         ids=lambda p: p.name)
def test_pack_readme_table_is_current(pack: Path) -> None:
    readme = (pack / "README.md").read_text(encoding="utf-8")
    current = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert current == rules_table(load_pack(pack)).strip(), f"run: hongdun rules doc {pack.relative_to(ROOT)} --write"
