"""Integrations with outside services (Stripe)."""
