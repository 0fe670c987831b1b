"""The `e2e` marker: browser tests are selected and deselected by it, as the README's commands expect."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collected(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: nothing collected
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_not_e2e_deselects_every_browser_test():
    collected = _collected("-m", "not e2e", "tests/e2e", "tests/conversations/test_text.py")
    assert collected
    assert all(test.startswith("tests/conversations/") for test in collected)


def test_e2e_selects_only_browser_tests():
    collected = _collected("-m", "e2e", "tests/e2e", "tests/conversations/test_text.py")
    assert collected
    assert all(test.startswith("tests/e2e/") for test in collected)
