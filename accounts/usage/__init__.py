"""Metering: the LLM tokens bots report (seed 000), what they cost, and each bot's monthly budget.

- validation: a record as a bot sends it, checked field by field
- prices: the price in force at a moment, and what a record costs at it
- services: record usage (one or a batch, idempotent), recompute costs after a price changes
- budgets: how much of its month a bot has used, and the alerts when it passes a threshold
- selectors: the reads the status route, the API, the pages and the admin share
"""
