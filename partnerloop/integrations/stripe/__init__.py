"""Stripe: webhook ingest (verify, store, enqueue), event processing through tracking, promotion codes."""
