"""Pure building blocks shared by every domain: money, time, ids, errors. Imports nothing else of openbss."""
