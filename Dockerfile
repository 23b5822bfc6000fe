# One image per usergraph app, each a target of this file:
#
#   docker build --target identity -t usergraph/identity:local .
#   (identity, org-users, licensing, registry, gateway, cli; without --target,
#   docker builds the last one, cli)
#   docker run --rm usergraph/cli:local        # the operator CLI's usage
#
# Each image holds only its own workspace, the @usergraph packages it depends
# on at run time (transitively) and their production dependencies. Which ones
# is computed at build time from the package.json files
# (scripts/docker-app.mjs), so a new dependency needs no edit here.
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
# /out/all: every workspace's package.json (for the build), found with `find`
# rather than listed, so a new workspace cannot be forgotten (a missing one
# would make `npm ci` fail against the lockfile). /out/<app>: that app's
# share, for its production install.
FROM base AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /out/all \
 && find . -name node_modules -prune -o -name package.json -type f \
      -exec cp --parents -t /out/all/ {} + \
 && cp package-lock.json .npmrc /out/all/ \
 && for dir in apps/*/; do \
      app=$(basename "$dir"); node scripts/docker-app.mjs manifests "$app" . "/out/$app" || exit 1; \
    done

# ---------------------------------------------------------------------------
# build: full install (TypeScript, turbo) and the build of every workspace,
# shared by every target. (The supergraph is not composed here: the registry
# composes it at run time.) BuildKit keys COPY --from by content, so an app
# whose built files did not change keeps its layers when another team's code
# changes.
FROM base AS build
# turbo and Apollo must not phone home from the build either.
ENV TURBO_TELEMETRY_DISABLED=1 \
    DO_NOT_TRACK=1 \
    APOLLO_TELEMETRY_DISABLED=1
COPY --from=manifests /out/all/ ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npx turbo run build --output-logs=errors-only
# Each app's share of the build output (package.json, dist/, generated/ of
# the app and of the workspaces it depends on) in /out/<app>, so its target
# needs a single COPY.
RUN for dir in apps/*/; do \
      app=$(basename "$dir"); node scripts/docker-app.mjs files "$app" . "/out/$app" || exit 1; \
    done

# ---------------------------------------------------------------------------
# runtime: what every app's image shares.
FROM base AS runtime
# HOST: the services default to 127.0.0.1 (safe on a laptop), which would make
# them unreachable from other containers. APOLLO_TELEMETRY_DISABLED=1 is
# required: the services refuse to start without it.
ENV NODE_ENV=production \
    APOLLO_TELEMETRY_DISABLED=1 \
    HOST=0.0.0.0
# Files copied by the targets stay owned by root and the process runs as
# `node`: the services never write to disk, so a compromised process cannot
# alter the code it runs. Numeric (the image's `node` user) so that
# orchestrators enforcing runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000

# ---------------------------------------------------------------------------
# Per app: <app>-deps installs its production dependencies only (fresh, so no
# dev tool such as TypeScript, vitest or turbo can linger; in parallel with
# `build` under BuildKit; install scripts stay on: argon2's selects its
# prebuilt native binary), and the target <app> adds its build output.
# The services stop cleanly on SIGTERM (docker's default stop signal).

# identity: never published; reached on the internal network only.
FROM base AS identity-deps
COPY --from=manifests /out/identity/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace=apps/identity

FROM runtime AS identity
COPY --from=identity-deps /app/ ./
COPY --from=build /out/identity/ ./
EXPOSE 4001
CMD ["node", "apps/identity/dist/main.js"]

# org-users: never published; reached on the internal network only.
FROM base AS org-users-deps
COPY --from=manifests /out/org-users/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace=apps/org-users

FROM runtime AS org-users
COPY --from=org-users-deps /app/ ./
COPY --from=build /out/org-users/ ./
EXPOSE 4002
CMD ["node", "apps/org-users/dist/main.js"]

# licensing: never published; reached on the internal network only.
FROM base AS licensing-deps
COPY --from=manifests /out/licensing/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace=apps/licensing

FROM runtime AS licensing
COPY --from=licensing-deps /app/ ./
COPY --from=build /out/licensing/ ./
EXPOSE 4003
CMD ["node", "apps/licensing/dist/main.js"]

# registry: never published; reached on the internal network only.
FROM base AS registry-deps
COPY --from=manifests /out/registry/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace=apps/registry

FROM runtime AS registry
COPY --from=registry-deps /app/ ./
COPY --from=build /out/registry/ ./
EXPOSE 4004
CMD ["node", "apps/registry/dist/main.js"]

# gateway: the only service to publish.
FROM base AS gateway-deps
COPY --from=manifests /out/gateway/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace=apps/gateway

FROM runtime AS gateway
COPY --from=gateway-deps /app/ ./
COPY --from=build /out/gateway/ ./
EXPOSE 4000
CMD ["node", "apps/gateway/dist/main.js"]

# cli: the operator CLI (`usergraph`), also each subgraph's publish step.
FROM base AS cli-deps
COPY --from=manifests /out/cli/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace=apps/cli

FROM runtime AS cli
COPY --from=cli-deps /app/ ./
COPY --from=build /out/cli/ ./
CMD ["node", "apps/cli/dist/main.js"]
