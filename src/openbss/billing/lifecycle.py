"""The states of an invoice and of a bill run, and how TMF678 names them (pure: no I/O).

An invoice is written as a `draft` (lines, VAT, usage claimed; no number), becomes `approved` when the operator
approves its bill run after review, and is issued as `sent` (number, issue date, ledger, e-mail, event), then
`partiallyPaid` / `settled` as payments and credit notes settle it. Only drafts and approved invoices may still
change (their state, number and dates) or be deleted (discarding their run); the database enforces it
(migration 0017). A bill run goes draft -> approved -> issued, or draft|approved -> discarded.
"""

from __future__ import annotations

DRAFT_STATES = ("draft", "approved")  # not issued: invisible to customers, no number, may be discarded
ISSUED_STATES = ("sent", "partiallyPaid", "settled")
RUN_STATES = ("draft", "approved", "issued", "discarded")
OPEN_RUN_STATES = ("draft", "approved")  # at most one open run per period

# TMF678 CustomerBill.state (stateValue): new, onHold, validated, sent, partiallyPaid, settled.
TMF_STATE = {"draft": "new", "approved": "validated", "sent": "sent", "partiallyPaid": "partiallyPaid",
             "settled": "settled"}


def tmf_state(state: str) -> str:
    """The TMF678 stateValue of an invoice state."""
    return TMF_STATE[state]
