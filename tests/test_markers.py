"""The `e2e` marker: browser tests are selected and deselected by it, as the README's commands expect."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["tests/e2e", "tests/conversations/test_text.py"]
EXPRESSIONS = ["not e2e", "e2e"]

# Each `pytest --collect-only -q -m EXPRESSION`, one after the other in one interpreter: starting Python, Django
# and the browser tests' imports costs seconds, and a second start would pay it again for the same answer.
_COLLECT = """
import sys

import pytest

for expression in sys.argv[1].split(","):
    print("== -m", expression, flush=True)
    code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-m", expression, *sys.argv[2:]])
    print("== exit", int(code), flush=True)
"""


@pytest.fixture(scope="module")
def collected() -> dict[str, list[str]]:
    """The tests each expression selects, by expression."""
    result = subprocess.run(
        [sys.executable, "-c", _COLLECT, ",".join(EXPRESSIONS), *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    selections: dict[str, list[str]] = {}
    for expression, part in zip(EXPRESSIONS, result.stdout.split("== -m ")[1:], strict=True):
        lines = part.splitlines()
        assert lines[0] == expression, output
        assert lines[-1] in ("== exit 0", "== exit 5"), output  # 5: nothing collected
        selections[expression] = [line for line in lines if "::" in line]
    return selections


def test_not_e2e_deselects_every_browser_test(collected):
    assert collected["not e2e"]
    assert all(test.startswith("tests/conversations/") for test in collected["not e2e"])


def test_e2e_selects_only_browser_tests(collected):
    assert collected["e2e"]
    assert all(test.startswith("tests/e2e/") for test in collected["e2e"])
