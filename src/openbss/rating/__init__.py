"""rating domain."""
