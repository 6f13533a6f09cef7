"""Cutting a response body's records into slices keeps every record's text exactly as received."""

import json

import pytest

from bc_pipeline.record_slices import record_slices

# Spacing inside and between the records, as a server may send it, must survive in the slices.
V2_BODY = '[ {"id": 1, "note": "a, [b]"} ,\n{"id":2,"lines":[{"id":21}]},{"id" : 3,"note":"\\"quoted\\""}\n]'
V3_BODY = ('{"meta": {"pagination": {"total": 3}, "data": "not this"}, "data": [{"id": 7}, {"id": 8, "x": {"y": []}},'
           ' {"id": 9}], "extra": null}')


def test_slices_hold_each_record_text_exactly_and_in_order():
    slices = list(record_slices(V2_BODY, "$[*]", 40))

    assert [piece.ids for piece in slices] == [(1,), (2,), (3,)]
    assert slices[0].text == '[{"id": 1, "note": "a, [b]"}]'
    assert slices[2].text == '[{"id" : 3,"note":"\\"quoted\\""}]'
    assert [record for piece in slices for record in json.loads(piece.text)] == json.loads(V2_BODY)


def test_records_are_gathered_up_to_the_limit_and_a_larger_one_goes_alone():
    body = json.dumps([{"id": 1}, {"id": 2}, {"id": 3, "big": "x" * 50}, {"id": 4}])

    slices = list(record_slices(body, "$[*]", 30))

    assert [piece.ids for piece in slices] == [(1, 2), (3,), (4,)]
    assert all(len(piece.text) <= 30 for piece in slices if len(piece.ids) > 1)


def test_records_under_a_key_are_found_past_other_members():
    slices = list(record_slices(V3_BODY, "$.data[*]", 10_000))

    assert [piece.ids for piece in slices] == [(7, 8, 9)]
    assert json.loads(slices[0].text) == json.loads(V3_BODY)["data"]


@pytest.mark.parametrize("body", ["[]", " [ ] ", '{"data": []}', '{"data": null}', '{"meta": {}}', "{}"])
def test_a_body_without_records_has_no_slices(body):
    path = "$[*]" if body.strip().startswith("[") else "$.data[*]"
    assert list(record_slices(body, path, 100)) == []


def test_an_unsupported_path_is_refused():
    with pytest.raises(ValueError, match="not of the form"):
        list(record_slices("[]", "$..data", 100))
