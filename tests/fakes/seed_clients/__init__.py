"""Seed 000 and 001 clients (BotHttpClient, dashboardIntegration) in Node.js, and their Python twin."""
