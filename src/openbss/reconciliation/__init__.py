"""reconciliation domain: bank statements (camt.053, MT940), matching to invoices, the unmatched queue."""
