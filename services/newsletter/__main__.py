from services.newsletter.app import build
from services.newsletter.settings import load
from shared.service import serve

settings = load()
serve(build(settings), settings)
