"""Settings: the example config documents every key, loads, and problems name their key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from daemon.cli import main
from daemon.config import Settings, load_settings
from daemon.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "helpdeskd.toml"
INTERNAL = {"config_path"}


def keys_of(model: type[BaseModel]) -> set[str]:
    """Every field name of the model and its nested sections."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        if name in INTERNAL:
            continue
        names.add(name)
        for arg in (*getattr(field.annotation, "__args__", ()), field.annotation):
            inner = getattr(arg, "__args__", (arg,))
            for candidate in inner:
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    names |= keys_of(candidate)
    return names


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    mentioned = set(re.findall(r"([a-z_]+)\s*=", text))
    for section in re.findall(r"^\s*#?\s*\[+([a-z_.]+)\]+", text, re.M):
        mentioned |= set(section.split("."))
    missing = keys_of(Settings) - mentioned
    assert not missing, f"examples/helpdeskd.toml does not document: {sorted(missing)}"


def test_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(EXAMPLE)
    assert settings.config_path == EXAMPLE
    assert settings.state_dir == EXAMPLE.parent / "state"
    assert settings.intents["refund"].policy == "standard"


def test_embedded_defaults_load_without_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HELPDESKD_CONFIG", raising=False)
    settings = load_settings(None)
    assert settings.config_path is None
    assert settings.database_url == f"sqlite:///{tmp_path / 'state' / 'helpdeskd.db'}"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[pipeline]\nworkers = 2\n[mail]\nfrom_name = "File"\n')
    monkeypatch.setenv("HELPDESKD_PIPELINE__WORKERS", "7")
    settings = load_settings(cfg)
    assert settings.pipeline.workers == 7
    assert settings.mail.from_name == "File"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.pipeline.workers = 3  # type: ignore[misc]


BROKEN: list[tuple[str, str]] = [
    ("[pipeline]\nworkers = 0\n", "pipeline.workers"),
    ("[pipeline]\nwrokers = 2\n", "pipeline.wrokers"),
    ("[intents.x]\npolicy = 'nope'\n", "intents.x.policy"),
    ("[[sources]]\nkind = 'maildir'\nname = 'a'\n", "sources[0].maildir.path"),
    ("[[sources]]\nkind = 'pigeon'\nname = 'a'\n", "sources[0]"),
    ("fallback_intent = 'nope'\n", "fallback_intent"),
    ("[knowledge]\nsources = [{path = 'does/not/exist'}]\n", "knowledge.sources[0].path"),
    ("[store\n", "c.toml"),
]


@pytest.mark.parametrize(("text", "key"), BROKEN)
def test_problems_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    keys = [k for k, _ in info.value.problems]
    assert any(k.endswith(key) or key in k for k in keys), keys


def test_check_config_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline]\nworkers = 0\nmax_failures = -1\n")
    result = CliRunner().invoke(main, ["check-config", "--config", str(bad)])
    assert result.exit_code == 78  # EX_CONFIG: systemd does not restart a broken configuration
    assert "pipeline.workers" in result.output and "pipeline.max_failures" in result.output
    good = CliRunner().invoke(main, ["check-config", "--config", str(EXAMPLE)])
    assert good.exit_code == 0, good.output
    assert "intents:" in good.output and "sources:" in good.output


def test_check_config_warns_when_auto_send_can_never_fire(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[policies.standard]\nauto_send = true\n[policies.escalate]\nalways_escalate = true\n"
    )
    result = CliRunner().invoke(main, ["check-config", "--config", str(cfg)])
    assert result.exit_code == 0
    assert "trusted_authserv_ids is empty" in result.output and "['standard']" in result.output
    cfg.write_text(cfg.read_text() + "[screen]\ntrusted_authserv_ids = ['mx.example.com']\n")
    result = CliRunner().invoke(main, ["check-config", "--config", str(cfg)])
    assert "trusted_authserv_ids is empty" not in result.output
