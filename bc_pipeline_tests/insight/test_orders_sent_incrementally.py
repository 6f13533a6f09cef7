"""Whole syncs: a sync with nothing changed stages no Insight record, and a changed order is the only one sent."""

from bc_pipeline_tests.insight.conftest import collection, insight_import_requests, warehouse
from bc_pipeline_tests.insight.test_insight_sync import assert_converged


def _pending_orders() -> int:
    with warehouse() as conn:
        return conn.execute("SELECT count(*) FROM dotmailer.pending_insight WHERE collection = 'Orders'").fetchone()[0]


def test_a_changed_order_is_the_only_one_sent(sandboxes, sync):
    sync()
    imports = insight_import_requests(sandboxes.dotmailer)

    quiet = sync()

    assert (quiet.orders["sent"], quiet.catalog["sent"]) == (0, 0)
    assert _pending_orders() == 0
    assert insight_import_requests(sandboxes.dotmailer) == imports

    sent = collection(sandboxes.dotmailer, "Orders")
    order = next(o for o in sandboxes.bigcommerce.export("orders") if str(o["id"]) in sent)
    changed_at = sync.change_time()
    sandboxes.bigcommerce.load({"orders": [{**order, "payment_method": "Gift voucher", "date_modified": changed_at}]})

    changed = sync()

    assert (changed.orders["sent"], changed.orders["imported"], changed.catalog["sent"]) == (1, 1, 0)
    assert collection(sandboxes.dotmailer, "Orders")[str(order["id"])]["json"]["payment"] == "Gift voucher"
    assert_converged(sandboxes)
