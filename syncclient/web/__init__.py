"""The school node's web app (staff entry and the parent terminal)."""

from .app import create_app

__all__ = ["create_app"]
