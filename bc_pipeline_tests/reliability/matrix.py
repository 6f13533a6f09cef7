"""The fault matrix: every fault kind of both sandboxes, alone and then mixed; and the reduced set `make test` runs."""

from bc_pipeline_tests.reliability.harness import FaultCase

# Bursts: a fault that strikes a handful of times in a row is what an outage looks like to a client.
BIGCOMMERCE_ALONE = [
    FaultCase("bc 500 burst", bigcommerce={"http_500": (1.0, 4)}),
    FaultCase("bc 502 burst", bigcommerce={"http_502": (1.0, 4)}),
    FaultCase("bc 503 burst", bigcommerce={"http_503": (1.0, 4)}),
    FaultCase("bc 504 burst", bigcommerce={"http_504": (1.0, 4)}),
    FaultCase("bc 429 storm without headers", bigcommerce={"rate_limit_no_headers": (0.5, 40)}),
    # The store's own quota, tiny: 429s with X-Rate-Limit headers; the burst fault only proves the case ran.
    FaultCase("bc 429 storm with headers", bigcommerce={"http_500": (1.0, 1)},
              bigcommerce_config={"quota": 4, "window_ms": 300}),
    FaultCase("bc hangs past the timeout", bigcommerce={"hang": (1.0, 2)}),
    FaultCase("bc connection resets", bigcommerce={"reset": (0.3, 10)}),
    FaultCase("bc malformed pages", bigcommerce={"malformed_json": (0.3, 10)}),
    FaultCase("bc wrong totals", bigcommerce={"wrong_totals": (0.5, None)}),
    FaultCase("bc rows modified mid-scan", bigcommerce={"mutate_during_scan": (1.0, None)}),
    FaultCase("bc 503 for good (sync fails)", bigcommerce={"http_503": (1.0, None)}),
]
DOTMAILER_ALONE = [
    FaultCase("dm import RejectedByWatchdog", dotmailer={"import_rejected": (1.0, 2)}),
    FaultCase("dm import Failed", dotmailer={"import_failed": (1.0, 2)}),
    FaultCase("dm 500s", dotmailer={"http_500": (0.2, 8)}),
    FaultCase("dm 429s", dotmailer={"rate_limit": (0.3, 15)}),
    FaultCase("dm enrolment allowance exhausted", dotmailer={"http_500": (1.0, 1)},
              dotmailer_config={"enrolment_calls_per_hour": 1}),
]
MIXED = [
    FaultCase(
        "mixed: everything at once",
        bigcommerce={"http_500": (0.05, None), "http_503": (0.05, None), "rate_limit_no_headers": (0.1, None),
                     "reset": (0.05, None), "malformed_json": (0.05, None), "mutate_during_scan": (0.5, None),
                     "hang": (1.0, 1)},
        dotmailer={"import_rejected": (0.3, 2), "import_failed": (0.3, 2), "http_500": (0.05, 5),
                   "rate_limit": (0.1, 10)},
    ),
]
FULL_MATRIX = BIGCOMMERCE_ALONE + DOTMAILER_ALONE + MIXED

REDUCED_MATRIX = [
    FaultCase("bc 5xx burst", bigcommerce={"http_502": (1.0, 3), "http_503": (1.0, 3)}),
    FaultCase("bc 429 storm without headers", bigcommerce={"rate_limit_no_headers": (0.5, 40)}),
    FaultCase("bc rows modified mid-scan", bigcommerce={"mutate_during_scan": (1.0, None)}),
    FaultCase("dm import RejectedByWatchdog", dotmailer={"import_rejected": (1.0, 2)}),
]
