from services.kpi.app import build
from shared.service import serve
from shared.settings import load

settings = load("kpi")
serve(build(settings), settings)
