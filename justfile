# mediaplane task runner. `just --list` shows every recipe.

set shell := ["bash", "-euo", "pipefail", "-c"]

py := ".venv/bin/python"

# Install what `just up` needs: Debian packages, locked Python deps (uv), the trace backend
# (its own locked environment), the built web UI.
setup: system-deps
    uv sync --frozen
    uv sync --frozen --project tools/trace-backend
    @just web-ui

# Debian packages the stack runs on: Postgres 15 binaries, ffmpeg and clamd (clamav-daemon;
# its system service is never used: `just infra-up` runs the project's own clamd).
system-deps:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    command -v ffmpeg >/dev/null || missing+=(ffmpeg)
    ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql-15)
    command -v clamd >/dev/null || [ -x /usr/sbin/clamd ] || missing+=(clamav-daemon)
    if [ ${#missing[@]} -gt 0 ]; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      else
        echo "please install: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2; exit 1
      fi
    fi

# Build the web UI (services/web-ui/dist: the app, the API reference page and the OpenAPI
# document) from its lock file when its sources changed.
web-ui:
    #!/usr/bin/env bash
    set -euo pipefail
    cd services/web-ui
    if ! command -v npm >/dev/null; then echo "npm missing: the web UI is not built" >&2; exit 0; fi
    stamp=dist/.source-hash
    hash=$(cat package-lock.json index.html docs/index.html vite.config.ts tsconfig.json $(find src public -type f | sort) | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then exit 0; fi
    [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
    npm run build --silent
    echo "$hash" > "$stamp"

# Start the pinned local servers (Postgres, NATS JetStream, SeaweedFS S3, clamd, the trace
# backend); idempotent.
# `just infra-up --cluster` (or MEDIAPLANE_NATS_CLUSTER=1): NATS as a three-node cluster.
infra-up *FLAGS: setup
    {{py}} -m mediaplane.devstack up {{FLAGS}}

# Stop the local servers (data stays in .local/).
infra-down:
    {{py}} -m mediaplane.devstack down

# Which local servers answer (`--cluster`: every node of the NATS cluster).
infra-status *FLAGS:
    {{py}} -m mediaplane.devstack status {{FLAGS}}

# Run the platform on http://127.0.0.1:8080: infrastructure, every service, the edge, each
# restarted when it crashes (supervisord). Ctrl-C stops. `just up --cluster`: NATS as three
# nodes, streams replicated on all three (R3).
up *FLAGS: (infra-up FLAGS)
    {{py}} -m mediaplane.devstack platform up {{FLAGS}}

# Stop the platform (if `just up` runs in another terminal) and the infrastructure.
down:
    {{py}} -m mediaplane.devstack platform down
    {{py}} -m mediaplane.devstack down

# The identity provider's MEDIAPLANE_JWKS_URL, _JWT_ISSUER and _JWT_AUDIENCE are yours to add.
# Write .env for `docker compose` once (git-ignored, owner-only): random passwords.
compose-env:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -e .env ]; then echo ".env exists: kept"; exit 0; fi
    umask 077
    secret() { {{py}} -c 'import secrets; print(secrets.token_hex(24))'; }
    {
      echo "MEDIAPLANE_PG_PASSWORD=$(secret)"
      echo "MEDIAPLANE_S3_ACCESS_KEY=mediaplane"
      echo "MEDIAPLANE_S3_SECRET_KEY=$(secret)"
      echo "MEDIAPLANE_GRAFANA_ADMIN_PASSWORD=$(secret)"
      echo "MEDIAPLANE_CATALOG_PLAYBACK_SECRET=$(secret)"
      echo "MEDIAPLANE_THUMBNAILER_VARIANT_SECRET=$(secret)"
      {{py}} -m mediaplane.bus new-passwords
      {{py}} -m mediaplane.storage new-keys  # each service's own S3 identity
      echo "MEDIAPLANE_ROUTE_NATS_PASSWORD=p$(secret)"  # the NATS nodes' logins to each other
    } > .env
    echo "wrote .env; add MEDIAPLANE_JWKS_URL, MEDIAPLANE_JWT_ISSUER and MEDIAPLANE_JWT_AUDIENCE"

# Print a development token for USER (needs a `just up` once: it makes the secret).
token USER *ARGS:
    @set -a && . .local/platform/env && {{py}} -m mediaplane.servicekit token --sub {{USER}} {{ARGS}}

# Lint: ruff and mypy --strict over every package, then the import rules.
lint:
    {{py}} -m ruff check .
    {{py}} -m ruff format --check .
    {{py}} -m mypy
    @just lint-imports

# The architecture rules (import-linter): pyproject.toml, and each service's for its tests.
lint-imports:
    .venv/bin/lint-imports
    for service in services/*/pyproject.toml; do (cd "$(dirname "$service")" && ../../.venv/bin/lint-imports); done

# Lint, then the whole test suite against real servers (started when down).
# Two workers (pytest-xdist): most tests wait on servers and processes, not on a core.
# Tests never share names (each has its own database, bucket, stream names, ports); the
# platform tests keep to one worker (`one_worker_paths`), which boots their platform once.
test *ARGS: lint infra-up
    {{py}} -m pytest -n 2 {{ARGS}}

# Unit tests only (no servers).
test-unit *ARGS:
    {{py}} -m pytest -m "not integration and not bench and not soak" {{ARGS}}

# Whole-platform soak tests (self-healing, two replicas, a NATS node killed, one trace
# per upload): each boots private platforms of up to 30 processes, so `just test` (CI)
# leaves them out; run them before changing the devstack, the bus or the relays.
soak *ARGS: infra-up
    {{py}} -m pytest -m soak -p no:cacheprovider --timeout=1800 {{ARGS}}

# Benchmarks (tests/bench); results go to docs/benchmarks.md by hand.
bench *ARGS: infra-up
    @command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
    {{py}} -m pytest tests/bench -m bench -p no:cacheprovider -s --timeout=1800 {{ARGS}}

# Regenerate contracts/schemas, contracts/examples and contracts/asyncapi.json (refuses
# breaking changes).
schemas:
    {{py}} -m mediaplane.contracts schemas --write

# The public APIs' routes, merged into the one OpenAPI document the edge serves.
openapi_sources := "upload-gateway=mediaplane.upload_gateway.api.routes:ROUTES catalog=mediaplane.catalog.api.routes:ROUTES thumbnailer=mediaplane.thumbnailer.api.routes:ROUTES identity=mediaplane.identity.api.routes:DOCUMENTED_ROUTES analytics=mediaplane.analytics.api.routes:ROUTES"

# Regenerate services/web-ui/public/openapi.json (served at /v1/openapi.json, viewed at /v1/docs).
openapi:
    {{py}} -m mediaplane.servicekit openapi --write services/web-ui/public/openapi.json {{openapi_sources}}

# Format the code.
fmt:
    {{py}} -m ruff format .
    {{py}} -m ruff check --fix .
