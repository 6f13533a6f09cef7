"""The enrolment ledger in DuckDB: when each automation was switched on, who was enrolled, every call made.

The ledger is what makes enrolment idempotent: a contact is written to `dotmailer.enrolments` only after
dotmailer accepted the call that named it, and the primary key stops a second enrolment into the same program.
"""

from __future__ import annotations

import duckdb

from bc_pipeline.ledger import ensure_ledger

ENROLMENT_LEDGER_DDL = (
    "CREATE SCHEMA IF NOT EXISTS dotmailer",
    # First moment each program was seen configured for a role; only contacts created after it are "new".
    # Keyed by program name too, so choosing another program is switching automation on for that program.
    """CREATE TABLE IF NOT EXISTS dotmailer.automation_switches (
        role VARCHAR NOT NULL, program_name VARCHAR NOT NULL, switched_on_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (role, program_name))""",
    """CREATE TABLE IF NOT EXISTS dotmailer.enrolments (
        program_id BIGINT NOT NULL, contact_id BIGINT NOT NULL, role VARCHAR NOT NULL, email_key VARCHAR,
        enrolment_id VARCHAR, enrolled_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (program_id, contact_id))""",
    # Every enrolment call, accepted or not: dotmailer counts refused calls against the hourly allowance too.
    """CREATE TABLE IF NOT EXISTS dotmailer.enrolment_calls (
        called_at TIMESTAMPTZ NOT NULL, role VARCHAR NOT NULL, program_id BIGINT NOT NULL, contacts INTEGER NOT NULL,
        outcome VARCHAR NOT NULL, enrolment_id VARCHAR, detail VARCHAR)""",
    # Contacts never sent again automatically: the call that named them got no answer (it may have gone
    # through) or dotmailer refused them for a reason a resend cannot fix.
    """CREATE TABLE IF NOT EXISTS dotmailer.enrolment_failures (
        program_id BIGINT NOT NULL, contact_id BIGINT NOT NULL, role VARCHAR NOT NULL, email_key VARCHAR,
        reason VARCHAR NOT NULL, failed_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (program_id, contact_id))""",
    # Abandoned baskets seen, from the webhook inbox or incomplete orders, and how far each got.
    """CREATE TABLE IF NOT EXISTS dotmailer.abandoned_baskets (
        cart_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, order_id BIGINT, abandoned_at TIMESTAMPTZ NOT NULL,
        email VARCHAR, email_key VARCHAR, cart JSON, insight JSON, status VARCHAR NOT NULL, detail VARCHAR,
        updated_at TIMESTAMPTZ NOT NULL)""",
)


def ensure_enrolment_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    # Enrolment reads the load ledger's contact ids and suppressions, so it needs those tables too.
    ensure_ledger(conn)
    for statement in ENROLMENT_LEDGER_DDL:
        conn.execute(statement)


def record_switch_on(conn: duckdb.DuckDBPyConnection, role: str, program_name: str, now) -> object:
    """When automation for `role` was first seen pointing at `program_name` (recorded now if never)."""
    conn.execute(
        "INSERT OR IGNORE INTO dotmailer.automation_switches VALUES (?, ?, ?)", [role, program_name, now]
    )
    return conn.execute(
        "SELECT switched_on_at FROM dotmailer.automation_switches WHERE role = ? AND program_name = ?",
        [role, program_name],
    ).fetchall()[0][0]
