"""The data team's day in the Dagster UI, in a real browser: lineage, materialize, backfill, schedule.

Each step saves a screenshot into test-artifacts/ui/; the asset graph also becomes the README's picture.
Outcomes are read back through the webserver's GraphQL API, the same one the UI uses.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from bc_pipeline.definitions import defs
from bc_pipeline_tests.ui.conftest import LOCATION, REPOSITORY, open_page, wait_until

pytestmark = pytest.mark.slow

SCHEDULE = "sync_every_5_minutes"
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

RUNS_QUERY = """query { runsOrError(limit: 20) { ... on Runs { results { runId status } } } }"""
LATEST_MATERIALIZATION_QUERY = """
query($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      assetMaterializations(limit: 1) {
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on MarkdownMetadataEntry { mdStr }
        }
      }
    }
  }
}"""
LAUNCH_BACKFILL_MUTATION = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL_QUERY = """
query($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    ... on PartitionBackfill { status runs { runId status tags { key value } } }
  }
}"""
SCHEDULE_STATE_QUERY = """
query($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) { ... on Schedule { scheduleState { status } } }
}"""


def defined_lineage() -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    """Every asset in the code, with the assets it reads from."""
    graph = defs.resolve_asset_graph()
    return {tuple(key.path): {tuple(parent.path) for parent in graph.get(key).parent_keys}
            for key in graph.get_all_asset_keys()}


def shown_lineage(dagster_ui) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    return {tuple(node["assetKey"]["path"]): {tuple(dep["path"]) for dep in node["dependencyKeys"]}
            for node in dagster_ui.asset_nodes()}


def run_id_starting_with(dagster_ui, short_id: str) -> str | None:
    runs = dagster_ui.graphql(RUNS_QUERY)["runsOrError"]["results"]
    return next((run["runId"] for run in runs if run["runId"].startswith(short_id)), None)


def schedule_status(dagster_ui) -> str:
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "scheduleName": SCHEDULE}
    return dagster_ui.graphql(SCHEDULE_STATE_QUERY, selector=selector)["scheduleOrError"]["scheduleState"]["status"]


def wait_for_schedule_status(dagster_ui, expected: str) -> None:
    wait_until(lambda: schedule_status(dagster_ui) == expected, timeout=30, what=f"{SCHEDULE} to be {expected}")


def test_asset_graph_shows_every_asset_with_its_lineage(dagster_ui, browser, screenshots):
    lineage = shown_lineage(dagster_ui)
    assert lineage == defined_lineage()
    # The heart of the connector: a BigCommerce stream, through a transform, into a dotmailer address book.
    assert ("bigcommerce", "customers") in lineage[("transform", "contacts")]
    assert ("transform", "contacts") in lineage[("dotmailer", "customers_book")]

    groups = sorted({node["groupName"] for node in dagster_ui.asset_nodes()})
    assert {"bigcommerce", "transform", "dotmailer"} <= set(groups)
    # Groups start collapsed; open them all, top to bottom, beside a folded main menu, so that the whole graph
    # fits one wide picture.
    page = open_page(browser, dagster_ui.url, viewport={"width": 1440, "height": 760}, device_scale_factor=2,
                     local_storage={
                         "dagster-nav-collapsed": True,
                         "asset-graph-direction": "vertical",
                         "asset-graph-open-graph-nodes-global-__GLOBAL__": {
                             "expanded": ",".join(f"global@global:{group}" for group in groups)},
                     })
    try:
        page.goto("/asset-groups")
        graph = page.locator("svg foreignObject")
        for group in groups:
            expect(graph.get_by_text(group, exact=True)).to_be_visible()
        names = [key[-1] for key in lineage]
        for name in set(names):
            expect(graph.get_by_text(name, exact=True)).to_have_count(names.count(name))
        page.screenshot(path=screenshots / "1-asset-graph.png")
    finally:
        page.context.close()


def test_materialize_store_from_its_page_records_rows_and_preview(dagster_ui, page, screenshots):
    page.goto("/assets/bigcommerce/store")
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize$")).click()
    launched = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    expect(launched).to_be_visible()
    page.screenshot(path=screenshots / "2-materialize-launched.png")
    short_id = re.search(r"[0-9a-f]{8}", launched.inner_text()).group()

    run_id = wait_until(lambda: run_id_starting_with(dagster_ui, short_id), timeout=30, what="the launched run")
    assert wait_until(lambda: dagster_ui.finished_status(run_id), timeout=90, what="the store run") == "SUCCESS"
    page.goto(f"/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    page.screenshot(path=screenshots / "3-materialize-run-succeeded.png")

    node = dagster_ui.graphql(LATEST_MATERIALIZATION_QUERY, path=["bigcommerce", "store"])["assetNodeOrError"]
    materialization = node["assetMaterializations"][0]
    metadata = {entry["label"]: entry for entry in materialization["metadataEntries"]}
    assert materialization["runId"] == run_id
    assert metadata["dagster/row_count"]["intValue"] == 1
    assert "Sandbox Store" in metadata["preview"]["mdStr"]

    page.goto("/assets/bigcommerce/store?view=events")
    expect(page.get_by_text("dagster/row_count", exact=True)).to_be_visible()
    expect(page.get_by_text("preview", exact=True)).to_be_visible()
    page.screenshot(path=screenshots / "4-materialization-metadata.png")


def test_backfill_of_order_days_completes_as_one_run(dagster_ui, page, screenshots):
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=back)).isoformat() for back in (3, 2, 1)]
    launched = dagster_ui.graphql(LAUNCH_BACKFILL_MUTATION, params={
        "assetSelection": [{"path": ["bigcommerce", "orders"]}], "partitionNames": days})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def finished_backfill():
        backfill = dagster_ui.graphql(BACKFILL_QUERY, backfillId=backfill_id)["partitionBackfillOrError"]
        return backfill if backfill["status"] in BACKFILL_DONE else None

    # The backfill daemon works in 30-second iterations: one to launch the run, one to see it finish.
    backfill = wait_until(finished_backfill, timeout=150, what=f"backfill {backfill_id}", interval=2)
    assert backfill["status"] == "COMPLETED_SUCCESS"
    assert len(backfill["runs"]) == 1
    (run,) = backfill["runs"]
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert run["status"] == "SUCCESS"
    assert tags["dagster/asset_partition_range_start"] == days[0]
    assert tags["dagster/asset_partition_range_end"] == days[-1]

    page.goto(f"/runs/b/{backfill_id}?tab=runs")
    expect(page.get_by_text(re.compile(rf"^{days[0]}\W+{days[-1]}$"))).to_be_visible()
    expect(page.get_by_text(run["runId"][:8], exact=True)).to_be_visible()
    page.screenshot(path=screenshots / "5-orders-backfill.png")


def test_automation_page_lists_schedule_and_sensors_and_toggles_the_schedule(dagster_ui, page, screenshots):
    automations = [schedule.name for schedule in defs.schedules] + [sensor.name for sensor in defs.sensors]
    assert SCHEDULE in automations and len(defs.sensors) == 4
    page.goto("/automation")
    for name in automations:
        expect(page.get_by_text(name, exact=True)).to_be_visible()

    # The row's first checkbox selects it for bulk actions; the on/off switch is a checkbox drawn as a switch,
    # shown once the schedule's state has loaded (and briefly replaced by a spinner while it reloads).
    schedule_row = page.locator("[data-index]").filter(has=page.get_by_text(SCHEDULE, exact=True))
    schedule_switch = schedule_row.locator("label[class*=formatSwitch]")
    expect(schedule_switch).to_be_visible()
    page.screenshot(path=screenshots / "6-automation.png")
    starting = schedule_status(dagster_ui)
    flipped = {"RUNNING": "STOPPED", "STOPPED": "RUNNING"}
    for expected in (flipped[starting], starting):
        schedule_switch.click()
        wait_for_schedule_status(dagster_ui, expected)
        expect(schedule_switch.get_by_role("checkbox")).to_be_checked(checked=expected == "RUNNING")
        page.screenshot(path=screenshots / f"7-schedule-{expected.lower()}.png")
