"""Domain events: TMF688 hub listeners, the transactional outbox and signed, retried deliveries."""
