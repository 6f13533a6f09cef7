"""Insight records whose JSON arrives as text (as DuckDB writes it) are sent unparsed, and only if an object."""

from __future__ import annotations

from bc_pipeline.dotmailer.insight import import_insight


def test_json_text_lands_as_the_object_it_encodes(client, sandbox):
    report = import_insight(
        client,
        "Catalog_Default",
        [{"key": "1", "json": '{"name":"Mug ✨","price":8.5,"categories":[{"Id":"3"}]}'},
         {"key": "2", "json": "[1, 2]"},
         {"key": "3", "json": {"name": "Cup"}}],
        scope="account",
        collection_type="catalog",
        poll_interval=0.001,
    )

    assert sorted(r.key for r in report.imported) == ["1", "3"]
    assert [(r.key, r.reason) for r in report.failed] == [("2", "InvalidJson")]
    held = {record["key"]: record["json"] for record in sandbox.state()["insight"]["Catalog_Default"]}
    assert held == {"1": {"name": "Mug ✨", "price": 8.5, "categories": [{"Id": "3"}]}, "3": {"name": "Cup"}}
