"""The model stack's configuration: provider examples, keys only from the environment,
check-config naming each model's assumed capabilities, problems named by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli import main
from daemon.config import Settings, load_settings
from daemon.errors import ConfigError
from daemon.llm.stack import LLMStack, api_key_for, endpoint_for
from daemon.store.engine import open_engine

PROVIDERS = Path(__file__).resolve().parents[2] / "examples" / "providers"

EXPECTED = {
    "oxlo.toml": [
        "triage: llama-3.3-70b at https://api.oxlo.ai/v1 — tools (tool_choice auto), json_schema, "
        "no vision, streaming with usage; context 131072 tokens, output cap 1024, tokenizer llama3",
        "reasoning: deepseek-r1 at https://api.oxlo.ai/v1 — no tools, JSON by prompt",
        "vision: kimi-k2.6 at https://api.oxlo.ai/v1 — tools (tool_choice auto), json_schema, "
        "vision",
        "long_context: deepseek-v4-flash",
        "multilingual: qwen-3-32b",
    ],
    "openai-token-priced.toml": ["reasoning: gpt-4o at https://api.openai.com/v1"],
    "llamacpp.toml": [
        "triage: local at http://127.0.0.1:8000/v1 — tools (tool_choice auto), json_object, "
        "no vision, streaming (no usage); context 8192 tokens, output cap 512, "
        "tokenizer estimate (chars/3)"
    ],
    "vllm.toml": ["triage: Qwen/Qwen2.5-7B-Instruct at http://127.0.0.1:8000/v1 — tools"],
    "ollama.toml": [
        "triage: llama3.1:8b at http://127.0.0.1:11434/v1 — tools (tool_choice auto), "
        "json_object, no vision, streaming (no usage); context 8192 tokens, output cap 1024, "
        "tokenizer llama3",
        "vision: llama3.2-vision",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_provider_examples_load_and_describe_their_models(name: str) -> None:
    path = PROVIDERS / name
    settings = load_settings(path)
    assert settings.models, name
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 0, result.output
    drafter = result.output[result.output.index("drafter:") :]
    for line in EXPECTED[name]:
        assert line in drafter, (line, drafter)


def test_every_provider_example_is_tested() -> None:
    assert {p.name for p in PROVIDERS.glob("*.toml")} == set(EXPECTED)


def test_check_config_says_streaming_only_when_llm_streams(tmp_path: Path) -> None:
    """[llm] stream = false: no model streams, whatever it could do (issue 19, point 5)."""
    base = (PROVIDERS / "vllm.toml").read_text()
    for stream, expected in (("true", "streaming with usage"), ("false", "no streaming")):
        cfg = tmp_path / f"{stream}.toml"
        cfg.write_text(base.replace("[llm]\n", f"[llm]\nstream = {stream}\n", 1))
        result = CliRunner().invoke(main, ["check-config", "--config", str(cfg)])
        line = next(x for x in result.output.splitlines() if "triage:" in x)
        assert expected in line, line
        assert "context 32768 tokens, output cap 1024, tokenizer qwen3" in line
        if stream == "false":
            assert "streaming with" not in line


def test_check_config_without_models_says_offline(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    result = CliRunner().invoke(main, ["check-config", "--config", str(cfg)])
    assert "drafter:    offline (templates, always held for approval)" in result.output


def test_api_key_in_the_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[llm]\nbase_url = "http://x/v1"\napi_key = "sk-oops"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.problems[0][0] == "llm.api_key"


def test_api_key_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[llm]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "MY_LLM_KEY"\n'
        '[models.triage]\nmodel = "m"\n'
    )
    settings = load_settings(cfg)
    with pytest.raises(ConfigError, match="MY_LLM_KEY"):
        api_key_for(settings, settings.models["triage"])
    monkeypatch.setenv("MY_LLM_KEY", "from-env")
    assert endpoint_for(settings, "triage").api_key == "from-env"
    monkeypatch.setenv("HELPDESKD_LLM__API_KEY", "wins")
    assert endpoint_for(load_settings(cfg), "triage").api_key == "wins"
    assert "wins" not in repr(load_settings(cfg).llm)  # a SecretStr never prints


BROKEN = [
    ('[llm]\nbase_url = "http://x/v1"\n', "models"),
    ('[models.triage]\nmodel = "m"\n', "models.triage.base_url"),
    ('[llm]\nbase_url = "http://x/v1"\n[models.vision]\nmodel = "v"\n', "models.vision.vision"),
    ('[models.drafting]\nmodel = "m"\n', "models.drafting"),
    (
        '[tools.t]\ndescription = "d"\nurl = "http://x"\nidentity = {email = "sender_email"}\n',
        "tools.t.identity",
    ),
    (
        '[tools.t]\ndescription = "d"\nurl = "http://x"\nauth_header = "Authorization"\n',
        "tools.t.auth_env",
    ),
]


@pytest.mark.parametrize(("text", "key"), BROKEN)
def test_problems_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    keys = [k for k, _ in info.value.problems]
    assert any(key in k for k in keys), keys


def test_no_stack_without_models(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert LLMStack.build(Settings(), engine) is None
