"""The architecture as tests: facades, layers, and what stays cheap to import.

- Each package's ``__all__`` names exactly its lazy exports, and every one resolves.
- ``import flexcoord`` and the CLI's ``--help`` import no pandapower, SimBench, power-grid-model or
  HiGHS (a grid-free command must start fast).
- Only ``flexcoord.grid`` imports pandapower, SimBench, power-grid-model and pypowsybl.
- ``flexcoord.operations`` imports only the layers below it (domain, grid, clearing,
  coordination, errors); of the layers, only simulation and cli may import it.
- ``flexcoord.service`` is the top layer beside ``cli``: only ``cli`` imports it, it never
  imports ``cli``, and the service app loads no grid library nor solver (the register needs
  none); the CLI's ``--help`` loads neither FastAPI nor SQLAlchemy.
- ``flexcoord.standards`` (document formats) imports only domain, clearing, coordination,
  operations and errors; only cli and service may import it; only it reads XML with lxml.
- Nothing imports another package's private names (``from flexcoord.x.y import _helper``).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "flexcoord"
GRID_LIBRARIES = ("pandapower", "simbench", "power_grid_model", "pypowsybl")
HEAVY = (*GRID_LIBRARIES, "highspy")


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        name = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        out.append((name.removesuffix(".__init__"), ast.parse(path.read_text())))
    return out


def _imports(tree: ast.Module) -> list[tuple[str, tuple[str, ...]]]:
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, tuple(a.name for a in node.names)))
    return found


@pytest.mark.parametrize(
    "package",
    [
        "flexcoord",
        "flexcoord.clearing",
        "flexcoord.grid",
        "flexcoord.operations",
        "flexcoord.simulation",
        "flexcoord.planning",
        "flexcoord.service",
        "flexcoord.standards.iec62325",
        "flexcoord.standards.uftp",
    ],
)
def test_a_lazy_facade_names_and_resolves_every_export(package: str) -> None:
    module = importlib.import_module(package)
    exports = module._EXPORTS
    assert sorted(n for n in module.__all__ if n != "__version__") == sorted(exports)
    for name in exports:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        module.nothing_here  # noqa: B018


@pytest.mark.parametrize(
    "code",
    [
        "import flexcoord, flexcoord.grid, flexcoord.simulation, flexcoord.planning",
        "from flexcoord.cli.app import app; from typer.main import get_command; get_command(app)",
        "import flexcoord.service.app",
        "import flexcoord.standards.iec62325",
        # the documents' readers use the domain, operations and clearing results, not the solver
        "import flexcoord.standards.iec62325._api, flexcoord.clearing, flexcoord.clearing.result",
        "import flexcoord.standards.uftp, flexcoord.service.uftp_endpoint",
    ],
)
def test_importing_the_package_or_the_cli_loads_no_grid_library_nor_solver(code: str) -> None:
    check = f"{code}\nimport sys\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_only_the_grid_layer_imports_the_grid_libraries() -> None:
    offenders = [
        (name, module)
        for name, tree in _modules()
        if not name.startswith("flexcoord.grid")
        for module, _ in _imports(tree)
        if module.split(".")[0] in GRID_LIBRARIES
    ]
    assert offenders == []


def test_no_module_imports_another_packages_private_names() -> None:
    offenders = []
    for name, tree in _modules():
        package = name.split(".")[1] if name.count(".") else ""
        for module, names in _imports(tree):
            if not module.startswith("flexcoord."):
                continue
            target = module.split(".")[1]
            offenders += [
                (name, module, n) for n in names if n.startswith("_") and target != package
            ]
    assert offenders == []


#: What ``flexcoord.operations`` may import from flexcoord (besides itself).
OPERATIONS_MAY_IMPORT = ("domain", "grid", "clearing", "coordination", "errors", "_lazy")
#: The layers below operations: none of them may import it.
BELOW_OPERATIONS = ("domain", "grid", "clearing", "coordination")


def _flexcoord_imports(layer: str) -> list[tuple[str, str]]:
    return [
        (name, module)
        for name, tree in _modules()
        if name.split(".")[1:2] == [layer]
        for module, _ in _imports(tree)
        if module.startswith("flexcoord.")
    ]


def test_operations_imports_only_the_layers_below_it() -> None:
    offenders = [
        (name, module)
        for name, module in _flexcoord_imports("operations")
        if module.split(".")[1] not in (*OPERATIONS_MAY_IMPORT, "operations")
    ]
    assert offenders == []


@pytest.mark.parametrize("layer", BELOW_OPERATIONS)
def test_no_layer_below_operations_imports_it(layer: str) -> None:
    offenders = [
        (name, module)
        for name, module in _flexcoord_imports(layer)
        if module.split(".")[1] == "operations"
    ]
    assert offenders == []


SERVICE_LIBRARIES = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "psycopg")


def test_only_the_cli_imports_the_service_and_the_service_not_the_cli() -> None:
    offenders = [
        (name, module)
        for name, tree in _modules()
        if name.split(".")[1:2] != ["service"]
        for module, _ in _imports(tree)
        if module.startswith("flexcoord.service") and name.split(".")[1:2] != ["cli"]
    ]
    offenders += [
        (name, module)
        for name, module in _flexcoord_imports("service")
        if module.split(".")[1] == "cli"
    ]
    assert offenders == []


def test_only_the_service_imports_the_web_and_database_libraries() -> None:
    offenders = [
        (name, module)
        for name, tree in _modules()
        if name.split(".")[1:2] not in (["service"], ["cli"])
        for module, _ in _imports(tree)
        if module.split(".")[0] in SERVICE_LIBRARIES
    ]
    assert offenders == []


def test_the_cli_help_loads_no_web_or_database_library() -> None:
    code = (
        "from flexcoord.cli.app import app; from typer.main import get_command; get_command(app)\n"
        f"import sys\nprint([m for m in {SERVICE_LIBRARIES!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


#: What ``flexcoord.standards`` may import from flexcoord (besides itself).
STANDARDS_MAY_IMPORT = ("domain", "clearing", "coordination", "operations", "errors", "_lazy")


def test_standards_imports_only_the_layers_below_it_and_only_cli_and_service_import_it() -> None:
    offenders = [
        (name, module)
        for name, module in _flexcoord_imports("standards")
        if module.split(".")[1] not in (*STANDARDS_MAY_IMPORT, "standards")
    ]
    offenders += [
        (name, module)
        for name, tree in _modules()
        if name.split(".")[1:2] not in (["standards"], ["cli"], ["service"])
        for module, _ in _imports(tree)
        if module.startswith("flexcoord.standards")
    ]
    assert offenders == []


def test_only_the_standards_read_xml_with_lxml() -> None:
    offenders = [
        (name, module)
        for name, tree in _modules()
        if name.split(".")[1:2] != ["standards"]
        for module, _ in _imports(tree)
        if module.split(".")[0] == "lxml"
    ]
    assert offenders == []
