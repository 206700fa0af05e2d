"""Interpretation cards: PNG rendering of a prediction with its token attributions."""
