"""Online charging (OCS): balances, reservations and, in charging.diameter, the Diameter Gy/Ro server (TMF654)."""
