FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TWINROOMS_HOST=0.0.0.0 TWINROOMS_PORT=8080 TWINROOMS_DATA_DIR=/data
# TWINROOMS_PUBLIC_URL must be set to the origin browsers use, e.g. https://rooms.example.eu

RUN useradd --system --create-home --home-dir /app twinrooms && mkdir /data && chown twinrooms /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server server
COPY rooms rooms
COPY media media
COPY static static
# Editable, so the server finds the web client in /app/static.
RUN pip install --no-cache-dir -e .

USER twinrooms
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["twinrooms", "serve"]
