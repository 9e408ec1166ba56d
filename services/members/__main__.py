from services.members.app import build
from shared.service import serve
from shared.settings import load

settings = load("members")
serve(build(settings), settings)
