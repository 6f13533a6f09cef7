"""Runs inside the dlt venv: dlt's rest_api source for customers, orders and products into DuckDB.

    python dlt_rest_api_main.py CONFIG.json

CONFIG: {"api_root", "token", "duckdb", "pipelines_dir", "loader_file_format" (null: dlt's default)}.
Paging is dlt's own page-number paginator at the API's maximum page size; v3 lists say when to stop
in `meta.pagination.total_pages`, v2 orders end with an empty 204 page.
"""

import json
import sys

import dlt
from dlt.sources.rest_api import rest_api_source


def v3_list(name: str, path: str) -> dict:
    return {"name": name, "primary_key": "id", "endpoint": {
        "path": path, "params": {"limit": 250}, "data_selector": "data",
        "paginator": {"type": "page_number", "base_page": 1, "page_param": "page",
                      "total_path": "meta.pagination.total_pages"}}}


def v2_list(name: str, path: str) -> dict:
    return {"name": name, "primary_key": "id", "endpoint": {
        "path": path, "params": {"limit": 250}, "data_selector": "$",
        "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None},
        "response_actions": [{"status_code": 204, "action": "ignore"}]}}


def main(config_path: str) -> None:
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    source = rest_api_source({
        "client": {"base_url": config["api_root"] + "/", "headers": {"X-Auth-Token": config["token"],
                                                                   "Accept": "application/json"}},
        "resource_defaults": {"write_disposition": "replace"},
        "resources": [v3_list("customers", "v3/customers"), v2_list("orders", "v2/orders"),
                      v3_list("products", "v3/catalog/products")],
    })
    pipeline = dlt.pipeline(pipeline_name="bench_bigcommerce", pipelines_dir=config["pipelines_dir"],
                            destination=dlt.destinations.duckdb(config["duckdb"]), dataset_name="bigcommerce")
    pipeline.run(source, loader_file_format=config["loader_file_format"])


if __name__ == "__main__":
    main(sys.argv[1])
