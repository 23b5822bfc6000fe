# One image for all five usergraph services (identity, org-users, licensing,
# registry, gateway) plus the operator CLI; docker-compose.yml picks the entry point.
#
#   docker build -t usergraph:local .
#   docker run --rm usergraph:local node apps/cli/dist/main.js   # usage
#
# Debian (glibc) rather than Alpine: argon2 ships prebuilt binaries for both,
# but glibc is what the project is developed and tested on, so there is no
# musl-only surprise in production.
ARG NODE_IMAGE=node:20-bookworm-slim

# npm is the one bundled with the image (10.x). Note: npm 11.19.1 (the root
# package.json's packageManager) currently refuses this lockfile in `npm ci`
# ("Missing: @rollup/rollup-* from lock file") while npm 10.9 accepts it, so
# do not upgrade npm here without checking that first.
FROM ${NODE_IMAGE} AS base
WORKDIR /app
# No network chatter from npm during builds (.npmrc covers fund/audit; this
# covers the update check, which is not in .npmrc).
ENV npm_config_update_notifier=false

# ---------------------------------------------------------------------------
# manifests: only the files `npm ci` reads, so the dependency layers below are
# rebuilt when a package.json or the lockfile changes, not on every source edit.
# Found with `find` rather than listed, so a new workspace cannot be forgotten
# (a missing one would make `npm ci` fail against the lockfile).
FROM base AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /out \
 && find . -name node_modules -prune -o -name package.json -type f \
      -exec cp --parents -t /out/ {} + \
 && cp package-lock.json .npmrc /out/

# ---------------------------------------------------------------------------
# build: full install (TypeScript, turbo) and the build of every workspace,
# (The supergraph is no longer composed here: the registry composes it at run time.)
FROM base AS build
# turbo and Apollo must not phone home from the build either.
ENV TURBO_TELEMETRY_DISABLED=1 \
    DO_NOT_TRACK=1 \
    APOLLO_TELEMETRY_DISABLED=1
COPY --from=manifests /out/ ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npx turbo run build --output-logs=errors-only
# Gather every workspace's build output (dist/, and generated/ where a
# workspace has one) into one tree, so the runtime stage needs a single COPY
# and picks up new workspaces on its own.
RUN mkdir -p /artifacts \
 && find apps packages -mindepth 2 -maxdepth 2 -type d \( -name dist -o -name generated \) \
      -exec cp -a --parents -t /artifacts/ {} +

# ---------------------------------------------------------------------------
# prod-deps: production dependencies only, installed fresh instead of pruning
# the build stage, so no dev tool (TypeScript, vitest, turbo) or build cache
# can linger. Runs in parallel with `build` under BuildKit. Install scripts
# stay on: argon2's install step selects its prebuilt native binary.
FROM base AS prod-deps
COPY --from=manifests /out/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

# ---------------------------------------------------------------------------
# runtime
FROM base AS runtime
# HOST: the services default to 127.0.0.1 (safe on a laptop), which would make
# them unreachable from other containers. APOLLO_TELEMETRY_DISABLED=1 is
# required: the services refuse to start without it.
ENV NODE_ENV=production \
    APOLLO_TELEMETRY_DISABLED=1 \
    HOST=0.0.0.0
# Files stay owned by root and the process runs as `node`: the services never
# write to disk, so a compromised process cannot alter the code it runs.
COPY --from=prod-deps /app/ ./
COPY --from=build /artifacts/ ./
# uid:gid of the image's `node` user, numeric so that orchestrators enforcing
# runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000
# gateway, identity, org-users, licensing, registry (only the gateway should be published).
EXPOSE 4000 4001 4002 4003 4004
# The services stop cleanly on SIGTERM (docker's default stop signal).
CMD ["node", "apps/gateway/dist/main.js"]
