"""The import contracts of pyproject.toml (`make lint` runs them): the code keeps them, and a
forbidden import added to a copy of the code breaks the contract that names it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("oasis", "ai", "billing", "helpdesk", "audit")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture(scope="module")
def code_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's packages and import contracts, in a folder of their own to break."""
    copy = tmp_path_factory.mktemp("contracts")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "templates", "static")
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "pyproject.toml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_it_keeps_every_contract_on_the_code(code_copy):
    result = lint_imports(code_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        ("helpdesk/services.py", "from ai.models import AgentRun", "helpdesk imports neither ai nor billing"),
        ("helpdesk/views.py", "from billing.models import Outcome", "helpdesk imports neither ai nor billing"),
        ("billing/services.py", "from ai.controls import agent_pause", "billing does not import ai"),
        ("audit/views.py", "from billing.models import Plan", "audit records and knows no domain"),
        ("audit/timeline.py", "from ai.timeline_card import RunCard", "audit records and knows no domain"),
        ("audit/timeline.py", "from helpdesk.services import ticket_reply", "audit imports of helpdesk only"),
        # A cycle between apps: helpdesk (below ai) reaching up into ai.
        ("helpdesk/hooks.py", "import ai.search", "Apps depend one way"),
    ],
)
def test_it_fails_on_a_forbidden_import(code_copy, tmp_path, module, forbidden, contract):
    broken = tmp_path / "code"
    shutil.copytree(code_copy, broken)
    target = broken / module
    target.write_text(f"{target.read_text()}\n{forbidden}  # noqa\n")
    result = lint_imports(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    broken_line = next(line for line in result.stdout.splitlines() if line.startswith(contract))
    assert " BROKEN" in broken_line, result.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in result.stdout
