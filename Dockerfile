# syntax=docker/dockerfile:1
# zoom-webhook-relay: one image for every role. The CLI is the entrypoint and the
# role is the command: web | worker | all (default), or status, dead-letters, send-test-event …
# `zoom-relay` is on the PATH too: docker exec <container> zoom-relay status
#
#   docker build -t zoom-webhook-relay .
#   docker run --rm -p 8080:8080 -e REDIS_URL=redis://redis:6379 \
#     -e ZOOM_WEBHOOK_SECRET_TOKEN=… -e RECALL_ZOOM_OAUTH_APP_ID=… zoom-webhook-relay web
#
# The image has no redis-server: set REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES).
# Without one the relay would try to start an embedded redis-server and exit.

# ---- build: all dependencies, compile TypeScript to dist/ ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

# ---- runtime: production dependencies and the compiled relay only ----
FROM node:24-bookworm-slim
ENV NODE_ENV=production
# tini as PID 1: forwards SIGTERM to Node (graceful shutdown: in-flight deliveries
# finish within SHUTDOWN_TIMEOUT_MS) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
# Owned by root and read-only to the relay; nothing under /app is written at run time
# (Kubernetes runs it with readOnlyRootFilesystem).
COPY --from=build /app/dist/src ./dist/src
# The CONFIG_FILE schema, read at start-up (found next to package.json).
COPY schema ./schema
# The stand-in destination of the compose demo profile (docker compose --profile demo up).
COPY --from=build /app/dist/scripts/demo-sink.js /app/dist/scripts/demo-sink.js.map ./dist/scripts/
# `zoom-relay …` on the PATH, as the docs write it (kubectl exec deploy/… -- zoom-relay status):
# main.js starts with #!/usr/bin/env node; tsc does not set the exec bit.
RUN chmod 0755 /app/dist/src/cli/main.js \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/zoom-relay
# The node image's unprivileged user (uid 1000, gid 1000).
USER node
# 8080 webhooks (PORT), 9464 /metrics /healthz /readyz (METRICS_PORT, every role),
# 9465 admin API and queue UI (ADMIN_PORT, only with ADMIN_TOKEN).
EXPOSE 8080 9464 9465
# Every role serves /healthz on the metrics port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Stack traces in TypeScript terms: -e NODE_OPTIONS=--enable-source-maps (the .js.map files are shipped).
ENTRYPOINT ["tini", "--", "node", "dist/src/cli/main.js"]
CMD ["all"]
