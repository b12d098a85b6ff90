"""The import picture of docs/architecture.md holds: apps import downwards only, and no circle
joins the modules and sub-packages of an app. The contracts live in pyproject.toml
([tool.importlinter]) and `make lint` checks them too; this test keeps them in the suite."""

from __future__ import annotations

import ast
import copy
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
configuration.configure()  # the contracts read import-linter's own settings (its clock)


def _contract(kind: str) -> dict[str, Any]:
    return next(c for c in SETTINGS["contracts"] if c["type"] == kind)


@pytest.fixture(scope="module")
def tree() -> grimp.ImportGraph:
    return grimp.build_graph(*SETTINGS["root_packages"], exclude_type_checking_imports=True)


@pytest.fixture
def graph(tree: grimp.ImportGraph) -> grimp.ImportGraph:
    return copy.deepcopy(tree)


def _options(contract: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, list) else [str(value)]
        for key, value in contract.items()
        if key not in {"name", "type"}
    }


def _kept(contract_class: type, contract: dict[str, Any], graph: grimp.ImportGraph) -> bool:
    check = contract_class(
        name=contract["name"], session_options=SETTINGS, contract_options=_options(contract)
    ).check(copy.deepcopy(graph), verbose=False)  # a check removes the ignored imports
    return bool(check.kept)


def test_the_tree_keeps_every_import_contract() -> None:
    # In a process of its own: import-linter's command configures logging with dictConfig, which
    # would silence every logger this test run had already made (and the tests reading them).
    check = (
        "import sys; from importlinter.cli import lint_imports;"
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))"
    )
    run = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", check, str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_lower_app_importing_a_higher_one_breaks_the_layers(graph: grimp.ImportGraph) -> None:
    layers = _contract("layers")
    assert _kept(LayersContract, layers, graph)
    graph.add_import(importer="authorities.models", imported="reports.models")
    assert not _kept(LayersContract, layers, graph)


def test_a_circle_between_two_rooms_of_an_app_breaks_the_contract(
    graph: grimp.ImportGraph,
) -> None:
    acyclic = _contract("acyclic_siblings")
    assert _kept(AcyclicSiblingsContract, acyclic, graph)
    graph.add_import(importer="reports.models", imported="reports.views")
    assert not _kept(AcyclicSiblingsContract, acyclic, graph)


QUEUEING = {"delay", "apply_async", "send_task", "publish"}


def _queueing_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in QUEUEING
    ]


def test_only_the_queue_module_hands_work_to_celery() -> None:
    # reports.jobs queues every task (through config.broker, which does the publishing); the
    # services it serves import no task module, so no import circle runs through reports.tasks.
    allowed = {ROOT / "reports" / "jobs.py", ROOT / "config" / "broker.py"}
    found = [
        call
        for package in SETTINGS["root_packages"]
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in allowed
        for call in _queueing_calls(path)
    ]
    assert found == []


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    return names | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }


def test_migrations_carry_their_own_code() -> None:
    # A migration runs years after it was written: code it imported from the app would have
    # changed (or gone) by then, so each one carries the SQL and helpers it needs. Field types
    # (config) and model managers are what Django's own migrations refer to, and stay.
    apps = ("accounts", "authorities", "reports", "gamification")
    found = {
        f"{path.relative_to(ROOT)}: {module}"
        for package in apps
        for path in sorted((ROOT / package).glob("migrations/0*.py"))
        for module in _imported_modules(path)
        if module.split(".")[0] in apps and not module.endswith(".models")
    }
    assert found == set()
