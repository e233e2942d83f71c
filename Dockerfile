# Pilu service image. Installs through the same scripts as `make`, so one install path is tested.
# Run with --init and a stop timeout above PILU_SHUTDOWN_GRACE_S (default 30 s), and set
# PILU_API_KEYS: bound to 0.0.0.0 the server refuses to start without keys.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PILU_HOST=0.0.0.0 PILU_PORT=8080
WORKDIR /app

COPY scripts/ scripts/
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make \
    && bash scripts/install-system.sh && rm -rf /var/lib/apt/lists/*

COPY fonts/ fonts/
RUN apt-get update -qq && bash scripts/install-fonts.sh && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md Makefile ./
COPY service/ service/
COPY templates/ templates/
RUN make install PYTHON=python3 \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin pilu \
    && mkdir -p /app/var && chown pilu /app/var

USER pilu
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s CMD python3 -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
CMD [".venv/bin/pilu", "serve"]
