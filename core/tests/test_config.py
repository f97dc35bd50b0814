"""Settings: defaults, file, environment, secrets, and errors that point at the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilotkit_runtime import ConfigError, Runtime, UnknownTypeError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "copilotkit.toml"
    path.write_text(text)
    return path


def test_defaults_serve_the_demo_agent_on_localhost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert (settings.server.host, settings.server.port, settings.server.base_path) == (
        "127.0.0.1", 8000, "/api/copilotkit")
    assert settings.store.type == "memory"
    assert list(settings.agents) == ["demo"]
    assert settings.effective_default_agent() == "demo"
    assert settings.config_file is None


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, """
default_agent = "b"
[server]
port = 9001
base_path = "copilot/"
[store]
type = "sqlite"
[store.sqlite]
path = "x.db"
[agents.a]
provider = "demo"
[agents.b]
provider = "demo"
description = "second"
chunk_delay = 0
""")
    settings = load_settings(path, env={})
    assert settings.server.port == 9001
    assert settings.server.base_path == "/copilot"
    assert settings.store.type == "sqlite"
    assert settings.store.options_for("sqlite") == {"path": "x.db"}
    assert settings.agents["b"].description == "second"
    assert settings.agents["b"].options() == {"chunk_delay": 0}
    assert settings.effective_default_agent() == "b"
    assert settings.config_dir == tmp_path.resolve()


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 9001\n")
    env = {"COPILOTKIT_PORT": "9100", "COPILOTKIT_SERVER__CORS_ORIGINS": '["http://a.test"]',
           "COPILOTKIT_STORE": "sqlite", "COPILOTKIT_AGENTS__X__PROVIDER": "demo",
           "COPILOTKIT_UNRELATED_SECRET": "ignored"}
    settings = load_settings(path, env=env)
    assert settings.server.port == 9100
    assert settings.server.cors_origins == ["http://a.test"]
    assert settings.store.type == "sqlite"
    assert settings.agents["x"].provider == "demo"


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 9200\n")
    assert load_settings(env={"COPILOTKIT_CONFIG": str(path)}).server.port == 9200


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\ntype = "sqlite"\n[store.sqlite]\npath = "${DB_PATH}"\n'
                           '[agents.a]\nprovider = "demo"\ngreeting = "${GREETING:-hi there}"\n')
    settings = load_settings(path, env={"DB_PATH": "/tmp/secret.db"})
    assert settings.store.options_for("sqlite")["path"] == "/tmp/secret.db"
    assert settings.agents["a"].options()["greeting"] == "hi there"


def test_a_missing_secret_names_the_variable_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[store.redis]\nurl = "${REDIS_URL}"\n')
    with pytest.raises(ConfigError, match=r"store\.redis\.url: environment variable REDIS_URL is not set"):
        load_settings(path, env={})


def test_a_wrong_type_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = "eighty"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(path) in info.value.message
    assert "server.port:" in info.value.message


def test_an_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"server\.prot: unknown key"):
        load_settings(path, env={})


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[server\nport=1")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(path, env={})


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_provider_options_are_validated_against_the_provider_type(tmp_path: Path) -> None:
    path = write(tmp_path, '[agents.demo]\nprovider = "demo"\nchunk_delay = "slow"\nmood = 1\n')
    with pytest.raises(ConfigError) as info:
        Runtime(load_settings(path, env={})).build()
    assert "agents.demo.chunk_delay:" in info.value.message
    assert "agents.demo.mood: unknown key" in info.value.message


def test_unknown_provider_type_says_which_package_to_install(tmp_path: Path) -> None:
    path = write(tmp_path, '[agents.crew]\nprovider = "crewai"\nflow = "x:y"\n')
    with pytest.raises(UnknownTypeError) as info:
        Runtime(load_settings(path, env={})).build()
    assert "agents.crew.provider: unknown agent provider type 'crewai'" in info.value.message
    assert "pip install copilotkit-provider-crewai" in info.value.message


def test_unknown_store_type_lists_the_registered_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\ntype = "etcd"\n')
    with pytest.raises(UnknownTypeError, match="Registered store types: memory, .*sqlite"):
        Runtime(load_settings(path, env={})).build()


def test_store_options_outside_a_type_table_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\ntype = "sqlite"\npath = "x.db"\n')
    with pytest.raises(ConfigError, match=r"store\.path: unknown key \(store options go in \[store.<type>\]\)"):
        load_settings(path, env={})


def test_default_agent_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_agent = "ghost"\n[agents.a]\nprovider = "demo"\n')
    with pytest.raises(ConfigError, match="default_agent: 'ghost' is not a configured agent"):
        Runtime(load_settings(path, env={})).build()


def test_bad_agent_names_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[agents."a b"]\nprovider = "demo"\n')
    with pytest.raises(ConfigError, match="agent name 'a b'"):
        load_settings(path, env={})
