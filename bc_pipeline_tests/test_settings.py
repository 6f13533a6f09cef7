"""connector.yaml is validated when loaded, with messages that say what to change."""

import pytest

from bc_pipeline.settings import ConnectorSettings, SettingsError, load_settings


def _load(tmp_path, text: str) -> ConnectorSettings:
    path = tmp_path / "connector.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def test_the_shipped_file_is_valid_and_names_the_sandbox_programs():
    settings = load_settings()
    assert settings.customers_address_book == "Store customers"
    assert settings.subscribers_address_book == "Store subscribers"
    assert settings.programs.new_customers == "New customers welcome"


def test_the_same_book_for_customers_and_subscribers_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="subscribers need their own book"):
        _load(tmp_path, "customers_address_book: Shop\nsubscribers_address_book: shop\n")


def test_a_book_can_be_switched_off(tmp_path):
    settings = _load(tmp_path, "subscribers_address_book: none\n")
    assert settings.subscribers_address_book is None
    assert settings.customers_address_book == "Store customers"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("THIS_NAME_IS_FAR_TOO_LONG: first_name", "at most 20"),
        ("'BAD NAME': first_name", "letters A-Z"),
        ("EMAIL: first_name", "reserved"),
        ("SHOE_SIZE: shoe_size", "'shoe_size', which is not a source"),
        ("FIRSTNAME: first_name\n  firstname: last_name", "mapped twice"),
    ],
)
def test_bad_mappings_are_refused_by_name(tmp_path, mapping, message):
    with pytest.raises(SettingsError, match=message):
        _load(tmp_path, f"field_mapping:\n  {mapping}\n")


def test_unknown_settings_and_bad_yaml_say_where(tmp_path):
    with pytest.raises(SettingsError, match="data_synk"):
        _load(tmp_path, "data_synk: true\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        _load(tmp_path, "field_mapping: [\n")


def test_mapping_targets_are_upper_cased(tmp_path):
    assert _load(tmp_path, "field_mapping:\n  spend: total_spend\n").field_mapping == {"SPEND": "total_spend"}
