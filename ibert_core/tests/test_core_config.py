from __future__ import annotations

import pytest

from ibert_core.config import load_config, task_settings
from ibert_core.errors import BadInput


def test_flags_beat_env_beat_project_beat_user(tmp_path):
    user = tmp_path / "user.toml"
    user.write_text(
        'dialect = "mysql"\nmodel = "user-model"\nadapter = "user-adapter"\n'
        "[tasks.sql_to_ibis]\nstandalone = true\n"
    )
    project = tmp_path / "proj"
    project.mkdir()
    (project / "ibert.toml").write_text(
        'dialect = "postgres"\nmodel = "proj-model"\n[tasks.sql_to_ibis]\nother = 1\n'
    )
    env = {"IBERT_MODEL": "env-model", "IBERT_STRICT_PLUGINS": "1", "HOME": str(tmp_path)}
    config = load_config(
        {"adapter": "flag-adapter", "dialect": None}, cwd=project, environ=env, user_file=user
    )
    assert config["dialect"] == "postgres"
    assert config["model"] == "env-model"
    assert config["adapter"] == "flag-adapter"
    assert "strict_plugins" not in config
    assert task_settings(config, "sql_to_ibis") == {"standalone": True, "other": 1}
    assert task_settings(config, "qa") == {}


def test_broken_toml_names_the_file(tmp_path):
    (tmp_path / "ibert.toml").write_text("dialect = ")
    with pytest.raises(BadInput, match="ibert.toml is not valid TOML"):
        load_config(cwd=tmp_path, environ={}, user_file=tmp_path / "none.toml")
