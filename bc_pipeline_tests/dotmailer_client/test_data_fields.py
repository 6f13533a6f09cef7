"""Data fields: validation before dotmailer sees them, creation, duplicates and deletion."""

from __future__ import annotations

import pytest

from bc_pipeline.dotmailer.data_fields import (
    create_data_field,
    delete_data_field,
    list_data_fields,
    validate_data_field_name,
)
from bc_pipeline.dotmailer.errors import DotmailerApiError, InvalidDataField


def test_default_fields_are_listed(client):
    names = {field.name for field in list_data_fields(client)}
    assert {"FIRSTNAME", "LASTNAME", "FULLNAME", "POSTCODE"} <= names


def test_create_then_delete(client):
    created = create_data_field(client, "TOTAL_SPEND", "numeric")

    assert (created.name, created.type) == ("TOTAL_SPEND", "Numeric")
    assert "TOTAL_SPEND" in {field.name for field in list_data_fields(client)}
    assert delete_data_field(client, "TOTAL_SPEND") is True
    assert "TOTAL_SPEND" not in {field.name for field in list_data_fields(client)}


@pytest.mark.parametrize(
    ("name", "field_type", "complaint"),
    [
        ("A_NAME_LONGER_THAN_20C", "String", "20"),
        ("LAST ORDER", "Date", "letters"),
        ("DÉPENSE", "Numeric", "letters"),
        ("email", "String", "reserved"),
        ("ContactId", "String", "reserved"),
        ("", "String", "name"),
        ("LOYALTY", "Money", "String, Numeric, Date, Boolean"),
    ],
)
def test_invalid_definitions_are_refused_before_any_request(client, sandbox, name, field_type, complaint):
    with pytest.raises(InvalidDataField, match=complaint):
        create_data_field(client, name, field_type)

    assert "POST /v2/data-fields" not in sandbox.stats()["requests"]


def test_names_at_the_limits_are_accepted():
    assert validate_data_field_name("A" * 20) == "A" * 20
    assert validate_data_field_name("last-order_1") == "last-order_1"


def test_duplicate_field_carries_dotmailers_code(client):
    create_data_field(client, "ORDER_COUNT", "Numeric")

    with pytest.raises(DotmailerApiError) as caught:
        create_data_field(client, "ORDER_COUNT", "Numeric")

    assert caught.value.code == "ERROR_NON_UNIQUE_DATAFIELD"
    assert "create data field 'ORDER_COUNT'" in str(caught.value)
