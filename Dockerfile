# One image for every service; the command picks the service (compose overrides CMD per service):
#
#   docker build -t vvsg-digitale-inclusie:local .
#   docker run --rm -e AUTH_SECRET=... -e DATABASE_URL=postgresql://... -e KAFKA_BOOTSTRAP_SERVERS=... \
#       -p 8005:8005 vvsg-digitale-inclusie:local python -m services.kpi
#
# Settings come from the environment (shared/settings.py). The source folders are copied next to the
# venv under /app and run from there, so the Alembic migrations (non-Python files) are always present.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: a virtualenv with the project and its pinned dependencies (wheels only, no compiler) ----
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /build

# Dependencies first, from pyproject.toml alone, so a source change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install -r requirements.txt

COPY shared ./shared
COPY services ./services
COPY deploy ./deploy
COPY ops ./ops
RUN pip install --no-deps .

# ---- runtime: slim Python, the venv and the sources, nothing else ----
FROM ${PYTHON_IMAGE} AS runtime

# The KPI service prints the yearly report as PDF with headless Chromium (services/kpi/pdf.py); build
# with --build-arg PDF_RENDERER= to leave it out (report.pdf then answers 503).
ARG PDF_RENDERER=chromium
RUN if [ -n "$PDF_RENDERER" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends "$PDF_RENDERER" fonts-dejavu-core \
        && rm -rf /var/lib/apt/lists/*; \
    fi

RUN groupadd --system --gid 10001 vvsg \
    && useradd --system --uid 10001 --gid vvsg --home-dir /app --no-create-home --shell /usr/sbin/nologin vvsg

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/opt/venv/bin:${PATH}" \
    HTTP_HOST=0.0.0.0

WORKDIR /app

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /build/shared ./shared
COPY --from=builder /build/services ./services
COPY --from=builder /build/deploy ./deploy
COPY --from=builder /build/ops ./ops

# Bytecode compiled once at build time (the sources stay read-only for the service user); data/ is only
# used by the SQLite fallback when DATABASE_URL is empty.
RUN python -m compileall -q /app/shared /app/services /app/deploy /app/ops \
    && mkdir -p /app/data \
    && chown vvsg:vvsg /app/data

USER 10001:10001

# members, events, feedback, newsletter, kpi (shared.settings.DEFAULT_PORTS)
EXPOSE 8001 8002 8003 8004 8005

CMD ["python", "-m", "services.members"]
