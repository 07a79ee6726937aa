"""Background work run by `openbss worker`: the outbox relay delivering events to hub listeners (`relay`) and
the periodic jobs (`schedule`)."""
