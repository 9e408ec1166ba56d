"""Feedback after activities and the user surveys: `python -m services.feedback`."""

from services.feedback.app import build
from services.feedback.settings import load
from shared.service import serve

settings = load()
serve(build(settings), settings)
