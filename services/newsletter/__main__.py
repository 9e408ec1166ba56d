from services.newsletter.app import build, load
from shared.service import serve

settings = load()
serve(build(settings), settings)
