"""What a list page's paging reads from its body without building it as Python objects: ids, the page size the
server applied and the v3 cursor, from one simdjson parse shared by every thread."""

from __future__ import annotations

import json

import pytest

from bc_pipeline.bigcommerce.lazy_json import NotJson, read_json
from bc_pipeline.bigcommerce.paging import UnexpectedResponse, _list_facts
from bc_pipeline.bigcommerce.streams import STREAMS


def facts(stream: str, body: object, requested: int = 250):
    return read_json(json.dumps(body), lambda document: _list_facts(STREAMS[stream], document, requested))


def test_a_v2_page_gives_its_ids_in_order_and_the_size_asked_for():
    orders = [{"id": 7, "line_items": [{"id": 1}]}, {"id": "9", "billing_address": {"id": 3}}]
    assert facts("orders", orders) == ([7, 9], 250, None)


def test_a_v3_page_gives_its_cursor_and_a_page_size_the_server_capped_below_ours():
    body = {"data": [{"id": 3}, {"id": 4}],
            "meta": {"pagination": {"per_page": 100}, "cursor_pagination": {"end_cursor": "abc"}}}
    assert facts("customers", body) == ([3, 4], 100, "abc")
    # A per_page at or above the limit asked for, or none at all, leaves the limit as the full page's size.
    assert facts("customers", {"data": [], "meta": {"pagination": {"per_page": 500}}}) == ([], 250, None)
    assert facts("products", {"data": [{"id": 5}]}) == ([5], 250, None)


@pytest.mark.parametrize("body", [{"data": {"id": 1}}, {"meta": {}}, "none", 42])
def test_a_body_without_a_list_of_records_is_named_as_such(body):
    with pytest.raises(UnexpectedResponse, match="/v3/customers returned a body without a list of records"):
        facts("customers", body)


def test_a_truncated_body_is_not_json_but_a_bad_value_in_a_good_body_is_the_reading_s_own_error():
    with pytest.raises(NotJson):
        read_json('[{"id": 1}, {"id":', len)
    # The client retries a body that is not JSON; an id that is not a number is not a transient fault.
    with pytest.raises(ValueError) as raised:
        facts("orders", [{"id": "abc"}])
    assert not isinstance(raised.value, NotJson)


def test_a_body_that_is_not_utf8_is_not_json():
    # The client keeps bodies as bytes and DuckDB decodes them at staging: the parse is where a bad byte is caught,
    # so the client retries the request as it does a malformed body.
    with pytest.raises(NotJson):
        read_json(b'[{"id": 1, "name": "Zo\xeb"}]', len)
    assert read_json('[{"id": 1, "name": "Zoë"}]'.encode(), lambda document: document[0]["name"]) == "Zoë"


def test_the_shared_parser_reads_again_while_an_earlier_document_is_still_held():
    # A reading that (against its contract) keeps the document, as an exception's traceback can.
    held = read_json('{"data": [1, 2, 3]}', lambda document: document)
    assert read_json("[4, 5]", lambda document: list(document)) == [4, 5]
    assert list(held["data"]) == [1, 2, 3]
