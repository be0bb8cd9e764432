"""Conversions: who a lead or sale is credited to (attribution models, multi-touch splits, touches)."""
