"""join the branches of issue #5 (bill-run lifecycle 0017, bill cycles 0018, note documents 0019, bill holds
and bills on demand 0025) and issue #6 (payments 0021, bank statements 0022, ledger chart 0023, dunning 0024)

Revision ID: 0026_merge_issues_5_6
Revises: 0017_bill_run_lifecycle, 0018_bill_cycles, 0019_note_documents, 0021_payments, 0022_bank_statements,
    0023_ledger_chart, 0024_dunning, 0025_bill_hold_on_demand
"""

revision = "0026_merge_issues_5_6"
down_revision = ("0017_bill_run_lifecycle", "0018_bill_cycles", "0019_note_documents", "0021_payments",
                 "0022_bank_statements", "0023_ledger_chart", "0024_dunning", "0025_bill_hold_on_demand")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
