"""The layers of the portal, checked on the source: each app imports only the apps below it.

portal_core → portal_auth and the outbox (the outbox below portal_auth) → the domain apps, which never
import each other → portal_project at the top. Every import statement counts, even one inside a function;
migrations and tests do not.
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE, AUTH, OUTBOX, PROJECT = "portal_core", "portal_auth", "outbox", "portal_project"
APPS = sorted(path.parent.name for path in ROOT.glob("*/apps.py"))
DOMAIN_APPS = sorted(set(APPS) - {CORE, AUTH, OUTBOX, PROJECT})
# What each app may import besides itself; a domain app not named here may import what every domain app may.
MAY_IMPORT = {
    CORE: set(),
    OUTBOX: {CORE},
    AUTH: {CORE, OUTBOX},
    PROJECT: set(APPS),
}
DOMAIN_MAY_IMPORT = {CORE, OUTBOX, AUTH}


def _sources(app: str) -> Iterator[Path]:
    for path in sorted((ROOT / app).rglob("*.py")):
        if not {"migrations", "tests"} & set(path.relative_to(ROOT / app).parts):
            yield path


def _imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's own package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield node.lineno, ".".join([*base, node.module] if node.module else base)
            else:
                yield node.lineno, node.module or ""


def app_imports(app: str) -> dict[str, list[str]]:
    """The other apps of the portal `app` imports, each with where ("portal_auth/models.py:13")."""
    found: dict[str, list[str]] = {}
    for path in _sources(app):
        for line, module in _imported_modules(path):
            top = module.split(".")[0]
            if top in APPS and top != app:
                found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def test_the_layers_know_every_app_of_the_portal():
    # A new app is either a domain app or named in MAY_IMPORT; these must exist for the rules to mean anything.
    assert {CORE, AUTH, OUTBOX, PROJECT} <= set(APPS)
    assert {"bookings", "tickets", "conversations"} <= set(DOMAIN_APPS)


@pytest.mark.parametrize("app", APPS)
def test_each_app_imports_only_the_layers_below_it(app):
    allowed = MAY_IMPORT.get(app, DOMAIN_MAY_IMPORT)
    forbidden = {other: where for other, where in app_imports(app).items() if other not in allowed}
    assert forbidden == {}, f"{app} may import only {sorted(allowed)}"


def test_no_domain_app_imports_another():
    for app in DOMAIN_APPS:
        assert not set(app_imports(app)) & set(DOMAIN_APPS), app


def test_no_two_apps_import_each_other_even_through_others():
    graph = {app: set(app_imports(app)) for app in APPS}

    def reachable(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            app = todo.pop()
            if app not in seen:
                seen.add(app)
                todo.extend(graph[app])
        return seen

    assert [app for app in APPS if app in reachable(app)] == []


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path, monkeypatch):
    # The checker itself: an import it missed would let a forbidden one through unseen.
    app = tmp_path / "portal_core"
    (app / "sub").mkdir(parents=True)
    (app / "apps.py").write_text("")
    (app / "sub" / "__init__.py").write_text("")
    (app / "sub" / "late.py").write_text("def f():\n    from portal_auth import models\n\nfrom ..x import y\n")
    (tmp_path / "portal_auth").mkdir()
    (tmp_path / "portal_auth" / "apps.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "APPS", ["portal_auth", "portal_core"])
    assert app_imports("portal_core") == {"portal_auth": ["portal_core/sub/late.py:2"]}
    modules = [module for _, module in _imported_modules(app / "sub" / "late.py")]
    assert sorted(modules) == ["portal_auth", "portal_core.x"]
