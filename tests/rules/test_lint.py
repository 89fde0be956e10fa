"""`hongdun rules lint` reports every planted mistake with file:line:col and exits 1."""
import re
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main

BROKEN = Path(__file__).parents[1] / "fixtures" / "broken_pack"
ROOT = Path(__file__).parents[2]


def test_lint_reports_every_planted_mistake_with_location() -> None:
    result = CliRunner().invoke(main, ["rules", "lint", str(BROKEN)])
    assert result.exit_code == 1
    lines = [l for l in result.output.splitlines() if re.match(r"^\S+\.yaml:\d+:\d+: ", l)]
    text = "\n".join(lines)
    expected = [
        (r"pack\.yaml:13:\d+: .*unknown aggregate 'medain'", "window aggregate typo"),
        (r"mistakes\.yaml:15:15: BR-02: severity 'urgent'", "bad severity"),
        (r"mistakes\.yaml:17:\d+: BR-02: .*version '2021'", "bad law version"),
        (r"mistakes\.yaml:5:11: BR-01: unknown field 'display_prise'.*did you mean 'display_price'", "unknown field"),
        (r"mistakes\.yaml:14:11: BR-02: .*names starting with '_'", "dunder access"),
        (r"mistakes\.yaml:24:\d+: BR-03: unknown keyword list 'ad_bam'.*did you mean 'ad_ban'", "unknown list"),
        (r"mistakes\.yaml:28:\d+: BR-03: unknown field 'titel'", "bad message placeholder"),
        (r"mistakes\.yaml:20:5: BR-02: unknown key 'colour'", "unknown key"),
    ]
    for pattern, what in expected:
        assert re.search(pattern, text), f"{what} not reported:\n{result.output}"


def test_starter_pack_is_clean_and_its_examples_pass() -> None:
    runner = CliRunner()
    lint = runner.invoke(main, ["rules", "lint", str(ROOT / "rules" / "starter")])
    assert lint.exit_code == 0, lint.output
    test = runner.invoke(main, ["rules", "test", str(ROOT / "rules" / "starter")])
    assert test.exit_code == 0, test.output
    assert " 0 failed" in test.output
