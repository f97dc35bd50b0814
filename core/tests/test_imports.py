"""Importing the objects a config names."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.imports import import_object


def test_a_module_attribute_is_imported() -> None:
    assert import_object("json:dumps", base_dir=Path.cwd(), where="agents.x.graph")([1]) == "[1]"


def test_a_dotted_attribute_is_followed() -> None:
    assert import_object("pathlib:Path.cwd", base_dir=Path.cwd(), where="w") == Path.cwd


def test_a_module_next_to_the_config_is_found(tmp_path: Path) -> None:
    (tmp_path / "next_to_config_mod.py").write_text("VALUE = 42\n")
    assert import_object("next_to_config_mod:VALUE", base_dir=tmp_path, where="w") == 42


def test_a_file_path_is_relative_to_the_config_and_siblings_import(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "helper_sibling.py").write_text("NAME = 'sibling'\n")
    (tmp_path / "app" / "graph.py").write_text("from helper_sibling import NAME\nGRAPH = NAME\n")
    assert import_object("app/graph.py:GRAPH", base_dir=tmp_path, where="w") == "sibling"


@pytest.mark.parametrize(("reference", "says"), [
    ("no_such_module_zz.graphs:research", "cannot import module 'no_such_module_zz.graphs' for "
                                          "'no_such_module_zz.graphs:research': no module named 'no_such_module_zz'"),
    ("json:nope", "module 'json' has no attribute 'nope' ('json:nope')"),
    ("json", "'json' is not an import path"),
    ("./missing/file.py:graph", "cannot load './missing/file.py:graph': file"),
])
def test_failures_name_where_and_what(tmp_path: Path, reference: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        import_object(reference, base_dir=tmp_path, where="agents.research.graph")
    assert error.value.message.startswith("agents.research.graph: ")
    assert says in error.value.message


def test_a_module_that_raises_on_import_says_why(tmp_path: Path) -> None:
    (tmp_path / "broken_on_import.py").write_text("import no_such_dependency_zz\n")
    with pytest.raises(ConfigError, match=r"importing 'broken_on_import' for 'broken_on_import:x' "
                                          r"failed: ModuleNotFoundError: No module named 'no_such_dependency_zz'"):
        import_object("broken_on_import:x", base_dir=tmp_path, where="w")
