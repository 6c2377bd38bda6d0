# bucketcast on Node 22 LTS (Debian 12, Debian's ffmpeg). Mirrors .ci/run: apt-get, then npm ci.
# Two stages: the compilers that build better-sqlite3 stay in the build stage; the image runs as the
# unprivileged user `node` (uid 1000), which owns /data.

FROM node:22-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# better-sqlite3 is compiled from source (.npmrc build-from-source): no binary is downloaded.
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
# The server runs compiled (dist/, as npm start does); the compiler is a dev dependency, pruned after the build.
# src/ stays for the operator commands (npm run storage:validate, secrets:rotate), which run through tsx.
RUN npm run build && npm prune --omit=dev && npm cache clean --force
COPY config ./config
COPY public ./public

FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown node:node /data \
 && chmod 0700 /data
WORKDIR /app
# Root owns the code (the server cannot rewrite itself); `node` owns only /data.
COPY --from=build /app /app

ENV NODE_ENV=production \
    BUCKETCAST_DATA_DIR=/data \
    BUCKETCAST_HTTP_PORT=5080 \
    BUCKETCAST_RTMP_PORT=1935
VOLUME ["/data"]
USER node
# 5080: player, panel, API, WHIP signalling, files; 1935: RTMP ingest.
# WHIP media is UDP on ports werift picks (or `whip.icePortRange`): run with --network host,
# or set the range in the config file and publish it (-p 40000-40099:40000-40099/udp).
# Keep the secret key out of /data: mount it as a secret and set BUCKETCAST_SECRET_KEY_FILE=/run/secrets/<name>.
EXPOSE 5080 1935
STOPSIGNAL SIGTERM
# tini reaps ffmpeg children and forwards signals; the server finalizes recordings on SIGTERM.
# The command is npm start's (package.json) without its build step: the compiled server, with a first
# old-generation size that leaves V8 room, so a steady stream of media buffers does not keep it in
# back-to-back full GCs (docs/benchmarks.md).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--initial-old-space-size=128", "dist/main.js"]
