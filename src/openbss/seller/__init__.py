"""The operator's legal identity as the seller on its invoices (EN 16931 BG-4)."""
