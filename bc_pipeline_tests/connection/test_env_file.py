"""The .env file: values survive the round trip through python-dotenv, other lines stay, mode is 0600."""

from __future__ import annotations

import stat

import pytest

from bc_pipeline.env_file import read_env_file, update_env_file


@pytest.mark.parametrize("value", [
    "plain-token_123", "has spaces", "hash # not a comment", "quote ' and \\ backslash", 'double "quotes"',
    "$NOT_EXPANDED", "ünïcode", "",
])
def test_values_read_back_exactly_as_written(tmp_path, value):
    path = tmp_path / ".env"
    update_env_file(path, {"SECRET": value})
    assert read_env_file(path) == {"SECRET": value}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_updates_in_place_removes_and_keeps_everything_else(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# header\nKEEP=1\nexport TOKEN=old\n\nDROP=x\nOTHER=y # note\nTOKEN=duplicate\n", encoding="utf-8")

    update_env_file(path, {"TOKEN": "new", "ADDED": "z"}, remove=["DROP"])

    assert path.read_text(encoding="utf-8") == "# header\nKEEP=1\nTOKEN=new\n\nOTHER=y # note\nADDED=z\n"


def test_multi_line_values_are_refused(tmp_path):
    with pytest.raises(ValueError, match="single line"):
        update_env_file(tmp_path / ".env", {"TOKEN": "a\nINJECTED=1"})
    assert not (tmp_path / ".env").exists()
