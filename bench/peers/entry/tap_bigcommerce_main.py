"""Runs inside the tap-bigcommerce venv: the tap's own main(), pointed at the sandbox.

    python tap_bigcommerce_main.py API_BASE --config C.json [--catalog CAT.json | --discover]

The tap hard-codes https://api.bigcommerce.com/stores/ as a class attribute of its API wrapper; setting
that attribute before main() runs is the whole patch. Order sub-resource URLs come from the API's own
responses, which the sandbox renders with the address it was reached at.
This script sits in entry/, apart from bench/peers/tap_bigcommerce.py, which would otherwise shadow the
tap's own package on the path.
"""

import sys

import tap_bigcommerce
from tap_bigcommerce.bigcommerce import Bigcommerce


def main() -> None:
    api_base, *tap_arguments = sys.argv[1:]
    Bigcommerce.base_url = api_base.rstrip("/") + "/stores/"
    sys.argv = ["tap-bigcommerce", *tap_arguments]
    tap_bigcommerce.main()


if __name__ == "__main__":
    main()
