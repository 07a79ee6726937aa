"""The Diameter credit-control server (RFC 4006, 3GPP TS 32.299 Gy and Ro) in front of charging.service."""
