"""Events bots send to the dashboard (seed 001's dashboardIntegration): intake, the dashboard's
status and metrics routes, and the reads of the events page.

- services: record events (one or a batch), deduplicated on the client's `id`
- selectors: recent events, counts per bot and type, the metrics seed 001 names
"""
