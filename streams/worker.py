"""Entry point of a stream worker process: ``claimwatch worker`` runs this app."""

from streams import agents  # noqa: F401  (registers the agents on the app)
from streams.app import app

__all__ = ["app"]
