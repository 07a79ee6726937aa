"""bill run lifecycle: bill runs, draft and approved invoices (no number yet), the procrastinate job queue

Invoices are drafted by a bill run, reviewed, approved and issued (billing/lifecycle.py). The immutability
triggers of 0001 change accordingly: a draft or approved invoice may change its state, number and dates, and
may be deleted with its lines and VAT rows (discarding its run); an issued invoice still changes only in
amount_paid and state, and never goes back to a draft. The job queue's tables and functions are procrastinate's
own packaged schema (pyproject pins procrastinate==3.10.0, so code and schema match).

Revision ID: 0017_bill_run_lifecycle
Revises: 0016_merge_billing_branches
"""
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0017_bill_run_lifecycle"
down_revision = "0016_merge_billing_branches"
branch_labels = None
depends_on = None

DRAFTS = "('draft', 'approved')"


def upgrade() -> None:
    op.create_table(
        "bill_run",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
        sa.Column("approved_by", sa.Text()),
        sa.Column("issue_started_at", sa.DateTime(timezone=True)),
        sa.Column("issued_at", sa.DateTime(timezone=True)),
        sa.Column("issued_by", sa.Text()),
        sa.Column("discarded_at", sa.DateTime(timezone=True)),
        sa.Column("discarded_by", sa.Text()),
        sa.CheckConstraint("state IN ('draft', 'approved', 'issued', 'discarded')", name=op.f("ck_bill_run_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_run")),
    )
    op.create_index("uq_bill_run_open_period", "bill_run", ["period"], unique=True,
                    postgresql_where=sa.text(f"state IN {DRAFTS}"))
    op.create_table(
        "bill_run_account",
        sa.Column("bill_run_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.UUID()),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint("status IN ('created', 'existing', 'nothing', 'notDue', 'error')",
                           name=op.f("ck_bill_run_account_status")),
        sa.ForeignKeyConstraint(["bill_run_id"], ["bill_run.id"], name=op.f("fk_bill_run_account_bill_run_id_bill_run")),
        sa.PrimaryKeyConstraint("bill_run_id", "account_id", name=op.f("pk_bill_run_account")),
    )
    op.add_column("invoice", sa.Column("bill_run_id", sa.UUID()))
    op.create_foreign_key(op.f("fk_invoice_bill_run_id_bill_run"), "invoice", "bill_run", ["bill_run_id"], ["id"])
    op.create_index(op.f("ix_invoice_bill_run_id"), "invoice", ["bill_run_id"])
    op.alter_column("invoice", "number", nullable=True)
    op.drop_constraint(op.f("ck_invoice_state"), "invoice", type_="check")
    op.create_check_constraint(op.f("ck_invoice_state"), "invoice",
                               "state IN ('draft', 'approved', 'sent', 'partiallyPaid', 'settled')")
    op.create_check_constraint(op.f("ck_invoice_numbered_when_issued"), "invoice",
                               f"number IS NOT NULL OR state IN {DRAFTS}")
    _lifecycle_guards()
    _job_queue()


def _lifecycle_guards() -> None:
    op.execute(f"""
        CREATE FUNCTION openbss_invoice_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.state IN {DRAFTS} THEN
                -- Not issued yet: it is numbered, dated and issued, or deleted with its discarded run.
                IF TG_OP = 'DELETE' THEN
                    RETURN OLD;
                END IF;
                IF (to_jsonb(NEW) - 'state' - 'number' - 'issue_date' - 'due_date')
                        IS DISTINCT FROM (to_jsonb(OLD) - 'state' - 'number' - 'issue_date' - 'due_date') THEN
                    RAISE EXCEPTION 'UPDATE of draft invoice % is not allowed: only its state, number and dates '
                        'change; discard its bill run to bill it again', OLD.id
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END IF;
            IF TG_OP = 'DELETE' OR NEW.state IN {DRAFTS} OR (to_jsonb(NEW) - 'amount_paid' - 'state')
                    IS DISTINCT FROM (to_jsonb(OLD) - 'amount_paid' - 'state') THEN
                RAISE EXCEPTION '% of issued invoice % is not allowed: only amount_paid and state change, '
                    'corrections are credit notes', TG_OP, OLD.number USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$
    """)
    op.execute("DROP TRIGGER invoice_settlement_only ON invoice")
    op.execute("CREATE TRIGGER invoice_lifecycle BEFORE UPDATE OR DELETE ON invoice "
               "FOR EACH ROW EXECUTE FUNCTION openbss_invoice_lifecycle()")
    # Lines and VAT rows are never updated; they are deleted only with a draft (their invoice still unissued).
    op.execute(f"""
        CREATE FUNCTION openbss_invoice_part_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM invoice WHERE id = OLD.invoice_id AND state IN {DRAFTS}) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '% on % is not allowed: rows of % are immutable, post a correction instead',
                TG_OP, TG_TABLE_NAME, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END $$
    """)
    for table in ("invoice_line", "invoice_tax"):
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute(f"CREATE TRIGGER {table}_issued_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION openbss_invoice_part_guard()")


def _job_queue() -> None:
    # Through the driver: the packaged SQL is run as procrastinate runs it (no bind-parameter parsing).
    schema = (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    op.get_bind().connection.driver_connection.execute(schema)


def downgrade() -> None:
    op.execute("""
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
                     AND tablename LIKE 'procrastinate%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
                EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.fn);
            END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c')
                     LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
            END LOOP;
        END $$
    """)
    for table in ("invoice_line", "invoice_tax"):
        op.execute(f"DROP TRIGGER {table}_issued_only ON {table}")
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION openbss_append_only()")
    op.execute("DROP FUNCTION openbss_invoice_part_guard()")
    op.execute("DROP TRIGGER invoice_lifecycle ON invoice")
    op.execute("CREATE TRIGGER invoice_settlement_only BEFORE UPDATE OR DELETE ON invoice "
               "FOR EACH ROW EXECUTE FUNCTION openbss_invoice_settlement_only()")
    op.execute("DROP FUNCTION openbss_invoice_lifecycle()")
    # Drafts cannot exist in the older schema: they have no number.
    op.execute("DELETE FROM invoice_tax WHERE invoice_id IN (SELECT id FROM invoice WHERE number IS NULL)")
    op.execute("DELETE FROM invoice_line WHERE invoice_id IN (SELECT id FROM invoice WHERE number IS NULL)")
    op.execute("DELETE FROM invoice WHERE number IS NULL")
    op.drop_constraint(op.f("ck_invoice_numbered_when_issued"), "invoice", type_="check")
    op.drop_constraint(op.f("ck_invoice_state"), "invoice", type_="check")
    op.create_check_constraint(op.f("ck_invoice_state"), "invoice", "state IN ('sent', 'partiallyPaid', 'settled')")
    op.alter_column("invoice", "number", nullable=False)
    op.drop_index(op.f("ix_invoice_bill_run_id"), table_name="invoice")
    op.drop_constraint(op.f("fk_invoice_bill_run_id_bill_run"), "invoice", type_="foreignkey")
    op.drop_column("invoice", "bill_run_id")
    op.drop_table("bill_run_account")
    op.drop_index("uq_bill_run_open_period", table_name="bill_run")
    op.drop_table("bill_run")
