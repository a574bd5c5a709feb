# syntax=docker/dockerfile:1
# One image for every Streamloop target: `streamloop start --target …` picks what a container runs (docs/deployment.md).
# The TypeScript sources run through tsx (a production dependency), as bin/streamloop.mjs does on a developer's machine,
# so there is no build step: the first stage installs the production dependencies, the second copies them and the sources.

FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# npm install, not npm ci: the lock lacks the other platforms' optional chDB binaries, which npm ci refuses.
RUN npm install --omit=dev --no-audit --no-fund \
    && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json tsconfig.json tsconfig.base.json ./
COPY bin ./bin
COPY apps ./apps
COPY libs ./libs
COPY services ./services
COPY schemas ./schemas
COPY examples ./examples
COPY deploy/docker ./deploy/docker
# The embedded chDB directory (used only without CLICKHOUSE_URL) belongs to the unprivileged user the image runs as.
RUN mkdir -p /data/chdb && chown -R 1000:1000 /data
# Every value here is a setting of libs/config (npm run check:deploy refuses an unknown name). The pipeline specs are
# baked (the fraud example); compose and Kubernetes mount their own and point STREAMLOOP_PIPELINES at them.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    SCHEMA_REGISTRY_PORT=8081 \
    CLICKHOUSE_DATA_DIR=/data/chdb \
    STREAMLOOP_PIPELINES=/app/examples/pipelines/fraud.yaml
# node: the base image's unprivileged user.
USER 1000:1000
EXPOSE 8080 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 CMD ["node", "deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["node", "bin/streamloop.mjs"]
CMD ["start", "--target", "all"]
