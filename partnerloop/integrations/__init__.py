"""Integrations with outside services (Stripe, Slack, HubSpot) and what their senders share."""
