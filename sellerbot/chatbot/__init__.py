"""The Seller Bot's AI chatbot (seed 004 `/seller-bot/*`): conversations with customers on the
channels, intents, replies, the context store, hand-off to a human and the sales funnel."""
