"""Runs inside the Airbyte venv: source-bigcommerce's packaged manifest, its base URL set to the sandbox.

    python airbyte_main.py API_BASE discover|read --config C.json [--catalog CAT.json]

The connector is a declarative manifest whose url_base names api.bigcommerce.com; the manifest is read
from the installed package and only that one value is replaced in memory before the CDK launches it.
"""

import pkgutil
import sys

# Imported before the CDK's modules: the CDK finds the connector's schemas through the first loaded
# module whose name holds "source_".
from source_bigcommerce.source import SourceBigcommerce

import yaml
from airbyte_cdk.entrypoint import launch

API_BASE = sys.argv[1].rstrip("/")


class SandboxBigcommerce(SourceBigcommerce):
    def _read_and_parse_yaml_file(self, path_to_yaml_file):
        manifest = yaml.safe_load(pkgutil.get_data("source_bigcommerce", path_to_yaml_file))
        manifest["definitions"]["requester"]["url_base"] = API_BASE + '/stores/{{ config["store_hash"] }}/'
        return manifest


if __name__ == "__main__":
    launch(SandboxBigcommerce(), sys.argv[2:])
