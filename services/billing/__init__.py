"""Billing: plans, usage metered from the log, monthly invoices."""
