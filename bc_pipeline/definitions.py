"""The one Definitions object: assets, checks, jobs, schedules and resources."""

import dagster as dg

from bc_pipeline.assets.extract import bigcommerce_store, bigcommerce_streams
from bc_pipeline.assets.insight import (
    catalog_insight,
    orders_insight,
    outbound_insight_checks,
    transform_catalog,
    transform_order_insight,
)
from bc_pipeline.assets.load import customers_book, dotmailer_suppressions, subscribers_book
from bc_pipeline.assets.transform import outbound_contact_checks, transform_contacts
from bc_pipeline.automation import resume_sync_rounds, sync_every_5_minutes, sync_job
from bc_pipeline.enrolment.jobs import enrol_programs
from bc_pipeline.enrolment.sensors import ENROLMENT_SENSORS
from bc_pipeline.resources import (
    BigCommerceResource,
    ConnectorSettingsResource,
    DotmailerResource,
    WarehouseResource,
)

defs = dg.Definitions(
    assets=[bigcommerce_streams, bigcommerce_store, dotmailer_suppressions, transform_contacts, customers_book,
            subscribers_book, transform_order_insight, transform_catalog, orders_insight, catalog_insight],
    asset_checks=[outbound_contact_checks, outbound_insight_checks],
    jobs=[sync_job, enrol_programs],
    schedules=[sync_every_5_minutes],
    sensors=[resume_sync_rounds, *ENROLMENT_SENSORS],
    # Every step that opens the warehouse is in the `duckdb` pool of one, so a run's steps go one at a time anyway;
    # a process per step (Dagster's default) only added each step's start-up, about 4 s of CPU apiece.
    executor=dg.in_process_executor,
    resources={
        "bigcommerce": BigCommerceResource(
            store_hash=dg.EnvVar("BC_STORE_HASH"), access_token=dg.EnvVar("BC_ACCESS_TOKEN")
        ),
        "dotmailer": DotmailerResource(
            api_user=dg.EnvVar("DOTMAILER_API_USER"), api_password=dg.EnvVar("DOTMAILER_API_PASSWORD")
        ),
        "warehouse": WarehouseResource(),
        "connector": ConnectorSettingsResource(),
    },
)
