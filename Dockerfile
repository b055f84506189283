# The hub's image: one `hub` command for each of its processes (docker-compose.yml runs the
# relay, the reply ingester, `hub follow`, an agency client and the API from it).
#   docker build -t kitakyushu-hub .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HUB_VAR_DIR=/var/lib/hub

WORKDIR /opt/hub
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY projections ./projections
COPY producers ./producers
COPY consumers ./consumers
COPY ops ./ops
COPY schemas ./schemas
# Editable: the codec reads the Avro contracts from schemas/ beside the packages.
RUN pip install -e . \
    && useradd --system --home-dir /var/lib/hub --shell /usr/sbin/nologin hub \
    && install -d -o hub -g hub -m 0700 /var/lib/hub

# Never root: the hub's files hold personal data and are the hub user's alone (0600/0700).
USER hub
WORKDIR /var/lib/hub
ENTRYPOINT ["hub"]
CMD ["--help"]
