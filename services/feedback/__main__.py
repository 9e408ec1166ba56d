"""Feedback after activities and the user surveys: `python -m services.feedback`."""

from services.feedback.app import build
from shared.service import serve
from shared.settings import load

settings = load("feedback")
serve(build(settings), settings)
