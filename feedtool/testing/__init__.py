"""Helpers for feedtool's tests, benchmarks and scripts; feedtool itself never imports them.

``servers``: loopback HTTP upstreams and gunicorn on 127.0.0.1. ``feeds``: synthetic
RSS feeds. They live in the package so that ``tests/``, ``bench/`` and ``scripts/``
import them alike, with no path set-up.
"""
