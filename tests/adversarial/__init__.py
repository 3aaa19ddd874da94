"""Adversarial tests: a hostile L1 against L0, and bad input against the Python API."""
