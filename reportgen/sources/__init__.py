"""Fetching published data from outside sources (the Fingertips API)."""
