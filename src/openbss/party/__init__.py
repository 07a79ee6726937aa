"""Parties, customers (TMF629) and billing accounts (TMF666)."""
