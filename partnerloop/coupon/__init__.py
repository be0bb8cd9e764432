"""Coupon codes: a partner's code that attributes a sale without any click."""
