"""mediation domain."""
