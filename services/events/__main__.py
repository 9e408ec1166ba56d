from services.events.app import build
from shared.service import serve
from shared.settings import load

settings = load("events")
serve(build(settings), settings)
