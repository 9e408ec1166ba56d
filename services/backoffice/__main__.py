from services.backoffice.app import build
from services.backoffice.settings import load
from shared.service import serve

settings = load()
serve(build(settings), settings)
