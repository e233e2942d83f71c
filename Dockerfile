# Pilu service image. Installs through the same scripts as `make`, so one install path is tested,
# with the exact versions of requirements.lock (run-time packages only: no test tools).
# Set PILU_API_KEYS: bound to 0.0.0.0 the server refuses to start without keys. State (the
# SQLite archive, thumbnails) lives in /app/var: mount a volume there, or set PILU_DATABASE_URL.
#
# Stopping: tini (PID 1) passes SIGTERM on; the server stops listening, turns /readyz to 503 and
# gives requests and batch renders PILU_SHUTDOWN_GRACE_S to finish. The image sets that to 8 s so
# a plain `docker stop` (10 s before SIGKILL) is graceful; to raise it, raise the stop timeout
# with it (`docker run --stop-timeout`, compose `stop_grace_period`, Kubernetes
# `terminationGracePeriodSeconds`), a few seconds above the grace.
#
# One stage on purpose: nothing is compiled (every package installs from a wheel), so a build
# stage would only drop `make`, which is purged below, and pip's cache, which is never written.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PILU_HOST=0.0.0.0 PILU_PORT=8080 PILU_SHUTDOWN_GRACE_S=8
WORKDIR /app

COPY scripts/ scripts/
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make tini \
    && bash scripts/install-system.sh && rm -rf /var/lib/apt/lists/*

COPY fonts/ fonts/
RUN apt-get update -qq && bash scripts/install-fonts.sh && rm -rf /var/lib/apt/lists/*

COPY requirements.lock ./
RUN python3 -m venv .venv && .venv/bin/pip install -q -r requirements.lock

COPY pyproject.toml README.md Makefile ./
COPY service/ service/
COPY templates/ templates/
RUN make install PYTHON=python3 \
    && .venv/bin/pip check \
    && apt-get purge -y -qq make && apt-get autoremove -y -qq && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin pilu \
    && mkdir -p /app/var && chown 10001:10001 /app/var

# Numeric, so that orchestrators can check "runs as non-root" without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
# Liveness: /healthz never waits for a worker. The server listens only once its workers are warm
# (up to PILU_WORKER_START_TIMEOUT_S, 60 s), hence the start period. Readiness is /readyz.
HEALTHCHECK --interval=30s --timeout=3s --start-period=90s --retries=3 CMD ["python3", "-c", \
    "import os, sys, urllib.request; port = os.environ.get('PILU_PORT', '8080'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD [".venv/bin/pilu", "serve"]
