# The hub's image: Python 3.11, a non-root user, data in /data. docker-compose.yml runs it behind
# Caddy (TLS) with PostgreSQL and Redis; see docs/deployment.md.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY channels channels
COPY web web
COPY locales locales
# Editable: the hub finds web/ and locales/ beside its package, as in a checkout.
RUN pip install --no-cache-dir -e . \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin puente \
    && mkdir -p /data && chown puente:puente /data
ENV PUENTE_SERVER_HOST=0.0.0.0 PUENTE_DATA_DIR=/data PYTHONUNBUFFERED=1
USER puente
VOLUME /data
EXPOSE 8000 2525
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4).status != 200)"]
# The start: migrate the database, make the first administrator from PUENTE_ADMIN_* if there is none, serve.
CMD ["puente"]
