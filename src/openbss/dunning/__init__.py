"""Collections: dunning plans, cases, promises to pay, the daily run (docs/dunning.md)."""
