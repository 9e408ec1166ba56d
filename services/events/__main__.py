from services.events.app import build
from services.events.settings import load
from shared.service import serve

settings = load()
serve(build(settings), settings)
