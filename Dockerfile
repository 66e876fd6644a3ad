# tsxend container image. Multi-stage: the build stage compiles TypeScript with the dev
# dependencies; the runtime stage holds only dist/, production node_modules and Xen's hotplug
# scripts. Run it on a dom0 with the host's xenstored socket and a state volume:
#
#   docker build -t tsxend .
#   docker run -d --name tsxend --privileged --network host \
#     -v /run/xenstored:/run/xenstored -v /dev/xen:/dev/xen \
#     -v tsxend-state:/var/lib/tsxend -v /run/tsxend:/run/tsxend \
#     tsxend --xenstore socket:/run/xenstored/socket
#
# Without Xen (a demo): docker run --rm -v /tmp/tsxend:/run/tsxend tsxend   (embedded xenstore)

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
# Xen's hotplug scripts (block, vif-bridge, ...) and the tools they call.
RUN apt-get update \
 && apt-get install -y --no-install-recommends xen-utils-common iproute2 bridge-utils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tsxend
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY web ./web
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
ENV NODE_ENV=production \
    TSXEND_STATE_DIR=/var/lib/tsxend \
    TSXEND_RUNTIME_DIR=/run/tsxend \
    TSXEND_CONNECT=unix:/run/tsxend/tsxend.sock
# Managed domains' configs, the host's xenstored socket directory, and the API socket.
VOLUME ["/var/lib/tsxend", "/run/xenstored", "/run/tsxend"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/opt/tsxend/scripts/healthcheck.mjs"]
STOPSIGNAL SIGTERM
# The launcher itself (not `node bin/tsxend.js`): its #! line carries the daemon's Node flags.
ENTRYPOINT ["/opt/tsxend/bin/tsxend.js", "serve"]
