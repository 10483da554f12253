FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    RELATA_HOST=0.0.0.0 RELATA_PORT=8000 \
    RELATA_DATA_DIR=/home/relata/data

WORKDIR /srv/relata
COPY pyproject.toml README.md ./
COPY app ./app
COPY resolvers ./resolvers
COPY db ./db
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 relata

USER relata
EXPOSE 8000
# Point DATABASE_URL at your PostgreSQL; migrations run at start. Without it the embedded
# PostgreSQL runs under RELATA_DATA_DIR (fine for a trial, not for production).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["relata", "serve"]
