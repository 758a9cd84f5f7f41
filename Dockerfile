FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY channels channels
COPY web web
COPY locales locales
# Editable: the hub finds web/ and locales/ beside its package, as in a checkout.
RUN pip install --no-cache-dir -e .
ENV PUENTE_SERVER_HOST=0.0.0.0 PUENTE_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["puente"]
