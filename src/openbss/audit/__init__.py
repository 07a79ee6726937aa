"""Audit trail: who changed what, when, with the before and after images, in the same transaction."""
