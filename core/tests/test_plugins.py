"""Plugin discovery through entry points, enabling by config, errors that name the plugin.

``copilotkit-test-plugin`` (tests/fixtures/copilotkit-test-plugin) is a real distribution
installed into the test environment with its own entry point.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from copilotkit_runtime import AgentProvider, PluginError, hookimpl, hookspecs
from copilotkit_runtime.plugins import PluginManager, PluginSelection
from copilotkit_runtime.stores import StateStore
from copilotkit_runtime.testing import make_runtime


def loaded(selection: PluginSelection | None = None, env: dict[str, str] | None = None,
           **kwargs: Any) -> PluginManager:
    manager = PluginManager(selection, environ=env or {}, **kwargs)
    manager.load()
    return manager


def test_the_installed_test_plugin_is_discovered_with_its_distribution() -> None:
    manager = loaded()
    info = manager.infos["testplugin"]
    assert (info.distribution, info.version, info.enabled) == ("copilotkit-test-plugin", "1.2.3", True)
    assert info.entry_point == "copilotkit_test_plugin"
    assert info.hooks == ["register_actions", "register_agent_providers", "register_middleware"]
    assert info.registered == {"actions": ["add_numbers"], "middleware": ["test-header-auth"],
                               "providers": ["shout"]}
    assert "shout" in manager.registries.providers


def test_built_ins_are_plugins_too() -> None:
    manager = loaded()
    builtins = {i.name: i for i in manager.plugin_list() if i.default}
    assert builtins["builtin-memory-store"].registered == {"stores": ["memory"]}
    assert builtins["builtin-demo-agent"].registered == {"providers": ["demo"]}
    assert builtins["builtin-topic-guardrail"].registered == {"guardrails": ["topics"]}


def test_a_plugin_disabled_by_config_is_listed_but_not_loaded() -> None:
    manager = loaded(PluginSelection(disabled=["testplugin"]))
    info = manager.infos["testplugin"]
    assert info.enabled is False and info.reason == "disabled by [plugins] disabled"
    assert "shout" not in manager.registries.providers


def test_a_plugin_can_be_disabled_by_distribution_name() -> None:
    manager = loaded(PluginSelection(disabled=["copilotkit-test-plugin"]))
    assert manager.infos["testplugin"].enabled is False


def test_enabled_list_limits_entry_point_plugins() -> None:
    manager = loaded(PluginSelection(enabled=["redis"]))
    assert manager.infos["testplugin"].reason == "not listed in [plugins] enabled"
    assert manager.infos["builtin-memory-store"].enabled  # built-ins are not limited


def test_environment_variable_empties_the_plugin_set() -> None:
    manager = loaded(env={"COPILOTKIT_PLUGINS": ""})
    assert not any(i.enabled for i in manager.plugin_list() if not i.default)
    assert manager.infos["testplugin"].reason == "not listed in COPILOTKIT_PLUGINS"


def test_environment_variable_limits_the_plugin_set() -> None:
    manager = loaded(env={"COPILOTKIT_PLUGINS": "testplugin"})
    assert manager.infos["testplugin"].enabled


def test_required_plugin_present_with_matching_version() -> None:
    loaded(PluginSelection(require=["copilotkit-test-plugin>=1.0,<2"]))
    loaded(PluginSelection(require=["testplugin"]))


def test_required_plugin_with_wrong_version_fails_fast() -> None:
    with pytest.raises(PluginError, match=r"must be >=2.0, but version 1.2.3 \(copilotkit-test-plugin\)"):
        loaded(PluginSelection(require=["copilotkit-test-plugin>=2.0"]))


def test_required_plugin_missing_says_what_to_install() -> None:
    with pytest.raises(PluginError, match="'copilotkit-provider-nothing' is not installed. Install it with: pip install"):
        loaded(PluginSelection(require=["copilotkit-provider-nothing>=1"]))


def test_required_plugin_that_is_disabled_says_so() -> None:
    with pytest.raises(PluginError, match="is installed but disabled by"):
        loaded(PluginSelection(require=["testplugin"], disabled=["testplugin"]))


def test_a_plugin_that_fails_to_import_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = metadata.EntryPoint(name="broken", value="copilotkit_no_such_module_xyz",
                                 group="copilotkit_runtime")
    monkeypatch.setattr(PluginManager, "entry_points", staticmethod(lambda: [broken]))
    with pytest.raises(PluginError) as info:
        loaded()
    assert 'Error loading plugin "broken"' in info.value.message
    assert "ModuleNotFoundError" in info.value.message
    assert 'COPILOTKIT_PLUGINS=""' in info.value.message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    # ...and the escape hatch works.
    loaded(env={"COPILOTKIT_PLUGINS": ""})


class _Dup:
    def __init__(self, name: str) -> None:
        self.__name__ = name

    @hookimpl
    def register_agent_providers(self, registry: Any) -> None:
        registry.add("shout", type("Other", (AgentProvider,), {"run": lambda self, r: None}))


def test_two_plugins_registering_one_name_is_an_error_naming_both() -> None:
    with pytest.raises(PluginError, match="Two plugins registered the agent provider type 'shout': "
                                          "'testplugin' and 'dup'|'dup' and 'testplugin'"):
        loaded(extra_plugins={"dup": _Dup("dup")})


class _MyMemory(StateStore):
    async def get_thread(self, *a: Any) -> Any: ...
    async def save_thread(self, *a: Any, **k: Any) -> Any: ...
    async def delete_thread(self, *a: Any) -> Any: ...
    async def append_events(self, *a: Any) -> Any: ...
    async def get_events(self, *a: Any, **k: Any) -> Any: ...
    async def acquire_run_lock(self, *a: Any) -> Any: ...
    async def request_stop(self, *a: Any) -> Any: ...


def test_a_third_party_plugin_replaces_a_built_in() -> None:
    plugin = SimpleNamespace(register_stores=hookimpl(lambda registry: registry.add("memory", _MyMemory)))
    manager = loaded(extra_plugins={"mine": plugin})
    assert manager.registries.stores.get("memory") is _MyMemory
    assert manager.infos["mine"].registered == {"stores": ["memory"]}


def test_a_misspelled_hook_is_an_error() -> None:
    plugin = SimpleNamespace(register_provders=hookimpl(lambda registry: None))
    with pytest.raises(PluginError, match='Plugin "typo" implements an unknown hook'):
        loaded(extra_plugins={"typo": plugin})


def test_registering_something_of_the_wrong_kind_is_an_error() -> None:
    plugin = SimpleNamespace(register_stores=hookimpl(lambda registry: registry.add("x", dict)))
    with pytest.raises(PluginError, match="registered store type 'x' as <class 'dict'>, which is not"):
        loaded(extra_plugins={"wrong": plugin})


def test_a_plugin_raising_in_a_hook_is_named() -> None:
    def explode(registry: Any) -> None:
        raise ValueError("nope")

    plugin = SimpleNamespace(register_actions=hookimpl(explode))
    with pytest.raises(PluginError, match='Plugin "exploding" .* failed in register_actions: ValueError: nope'):
        loaded(extra_plugins={"exploding": plugin})


def test_the_installed_plugin_serves_an_agent_by_config(tmp_path: Path) -> None:
    runtime = make_runtime({"agents": {"loud": {"provider": "shout"}}}, tmp_path=tmp_path,
                           load_entry_points=["testplugin"])
    assert [a.name for a in runtime.engine.agent_infos()] == ["loud"]
    assert "add_numbers" in runtime.registries.actions


def test_make_runtime_loads_no_installed_plugin_unless_asked(tmp_path: Path) -> None:
    from copilotkit_runtime import UnknownTypeError

    isolated = make_runtime(tmp_path=tmp_path)
    assert "testplugin" not in isolated.plugin_manager.infos
    assert "shout" not in isolated.registries.providers
    with pytest.raises(UnknownTypeError, match=r"load_entry_points=\["):
        make_runtime({"agents": {"loud": {"provider": "shout"}}}, tmp_path=tmp_path)
    everything = make_runtime(tmp_path=tmp_path, load_entry_points=True)
    assert everything.plugin_manager.infos["testplugin"].enabled


def test_make_runtime_loads_only_the_named_entry_points(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path=tmp_path, load_entry_points=["testplugin"])
    enabled = {name for name, info in runtime.plugin_manager.infos.items()
               if info.enabled and not info.default}
    assert enabled == {"testplugin"}


def test_disabling_the_plugin_makes_its_provider_unknown_with_a_hint(tmp_path: Path) -> None:
    from copilotkit_runtime import UnknownTypeError

    with pytest.raises(UnknownTypeError, match="unknown agent provider type 'shout'"):
        make_runtime({"agents": {"loud": {"provider": "shout"}},
                      "plugins": {"disabled": ["testplugin"]}}, tmp_path=tmp_path,
                     load_entry_points=True)


def test_every_hookspec_is_documented_and_tested() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    specs = [name for name in dir(hookspecs)
             if hasattr(getattr(hookspecs, name), "copilotkit_runtime_spec")]
    assert len(specs) == 9
    for name in specs:
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and ":param" in spec.__doc__, f"{name} needs a docstring"
        assert f"`{name}" in docs, f"{name} is not in docs/plugins.md"
        assert f"{name}" in tests.replace("test_every_hookspec", ""), f"{name} has no test"


def test_a_guardrail_type_registered_by_a_plugin_is_configured_by_name(tmp_path: Path) -> None:
    from copilotkit_runtime import Guardrail, GuardrailOptions

    class LengthOptions(GuardrailOptions):
        max_chars: int = 10

    class MaxLength(Guardrail):
        Options = LengthOptions

    plugin = SimpleNamespace(register_guardrails=hookimpl(lambda registry: registry.add("max_length", MaxLength)))
    runtime = make_runtime({"guardrails": {"short": {"type": "max_length", "max_chars": 5}}},
                           plugins={"lengths": plugin}, tmp_path=tmp_path)
    [guardrail] = runtime.guardrails
    assert isinstance(guardrail, MaxLength) and guardrail.name == "short"
    assert guardrail.options.max_chars == 5  # type: ignore[attr-defined]


def test_installing_the_core_adds_no_pytest_plugin_to_other_projects() -> None:
    """The anyio_backend fixture is opt-in (copilotkit_runtime.testing.pytest_plugin)."""
    from importlib import metadata

    dist = metadata.distribution("copilotkit-runtime")
    assert [ep for ep in dist.entry_points if ep.group == "pytest11"] == []
