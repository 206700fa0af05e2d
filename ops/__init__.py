"""Operator entry points: services, demo, replay, evaluation, tuning, benchmarks."""
