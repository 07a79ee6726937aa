"""ordering domain."""
