"""``copilotkit-runtime new-plugin``: the generated distribution's own tests pass as generated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from copilotkit_runtime.cli import main
from copilotkit_runtime.new_plugin import render

REPO = Path(__file__).resolve().parents[2]


def run_generated_tests(target: Path) -> str:
    """The generated distribution's own tests, run from its folder as its author would."""
    env = {**os.environ, "PYTHONPATH": str(target / "src")}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=target, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_new_plugin_generates_a_package_whose_tests_pass(tmp_path: Path, capsys) -> None:
    assert main(["new-plugin", "acme-echo", "--dir", str(tmp_path)]) == 0
    target = tmp_path / "copilotkit-plugin-acme-echo"
    assert str(target) in capsys.readouterr().out
    package = target / "src" / "copilotkit_plugin_acme_echo"
    assert {p.name for p in package.iterdir()} >= {"__init__.py", "plugin.py", "provider.py"}
    pyproject = (target / "pyproject.toml").read_text()
    assert 'acme-echo = "copilotkit_plugin_acme_echo.plugin"' in pyproject
    assert "{{" not in pyproject + (package / "provider.py").read_text()
    out = run_generated_tests(target)
    assert "12 passed" in out, out
    assert "skipped" not in out, out


@pytest.mark.parametrize("kind, module, hook, contract", [
    ("store", "store.py", "register_stores", "StoreContract"),
    ("guardrail", "guardrail.py", "register_guardrails", "GuardrailContract"),
    ("middleware", "middleware.py", "register_middleware", "MiddlewareContract"),
])
def test_each_kind_generates_a_package_whose_tests_pass(
        kind: str, module: str, hook: str, contract: str, tmp_path: Path) -> None:
    assert main(["new-plugin", "acme", "--kind", kind, "--dir", str(tmp_path)]) == 0
    target = tmp_path / "copilotkit-plugin-acme"
    package = target / "src" / "copilotkit_plugin_acme"
    assert {p.name for p in package.iterdir()} >= {"__init__.py", "plugin.py", module}
    texts = "".join(p.read_text() for p in target.rglob("*") if p.is_file())
    assert "{{" not in texts and "__package__" not in texts
    assert f"def {hook}(" in (package / "plugin.py").read_text()
    assert contract in (target / "tests" / "test_copilotkit_plugin_acme.py").read_text()
    assert f"--kind {kind}" in (target / "README.md").read_text()
    out = run_generated_tests(target)
    assert " passed" in out and "failed" not in out and "error" not in out, out
    if kind != "store":  # the store's live-relay tests skip: it does not relay between processes
        assert "skipped" not in out, out


def test_an_unknown_kind_is_a_usage_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["new-plugin", "acme", "--kind", "engine", "--dir", str(tmp_path)])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_workspace_template_plugin_is_the_rendered_template() -> None:
    """plugins/copilotkit-plugin-template is ``new-plugin template``'s output, byte for byte."""
    checked_in = REPO / "plugins" / "copilotkit-plugin-template"
    files = {str(p.relative_to(checked_in)): p.read_text() for p in checked_in.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    assert files == render("template"), (
        "re-render it: rm -r plugins/copilotkit-plugin-template && "
        "uv run copilotkit-runtime new-plugin template --dir plugins")


@pytest.mark.parametrize("name", ["Acme", "acme_echo", "1acme", "acme--echo", "acme-", "acme echo", ""])
def test_a_bad_name_is_refused(name: str, tmp_path: Path, capsys) -> None:
    assert main(["new-plugin", name, "--dir", str(tmp_path)]) == 1
    assert "bad plugin name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_refused_and_left_alone(tmp_path: Path, capsys) -> None:
    (tmp_path / "copilotkit-plugin-acme").mkdir()
    (tmp_path / "copilotkit-plugin-acme" / "keep.txt").write_text("mine")
    assert main(["new-plugin", "acme", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "copilotkit-plugin-acme").iterdir()] == ["keep.txt"]


def test_the_template_is_package_data() -> None:
    """Read through importlib.resources, as from an installed wheel (hatch ships the folder)."""
    from importlib import resources

    root = resources.files("copilotkit_runtime") / "templates"
    assert (root / "common" / "pyproject.toml.tmpl").is_file()
    for kind in ("provider", "store", "guardrail", "middleware"):
        assert (root / kind / "README.md.tmpl").is_file()
        assert "tests/test_copilotkit_plugin_x.py" in render("x", kind)
