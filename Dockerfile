# Multi-stage build: compile TypeScript, then run on a slim Node 20 image as a non-root user.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
COPY console ./console
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production DOTENV_CONFIG_QUIET=true
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY models ./models
USER node
# A bounded heap keeps a worker's memory flat: V8 grows an unbounded heap far ahead of what it
# holds (README, "Performance and sizing"). Override with your own NODE_OPTIONS.
ENV NODE_OPTIONS=--max-old-space-size=256
# Roles: schedule (exactly one replica), poll, ingest, deliver. Default: all in one process.
ENTRYPOINT ["node", "bin/repwatch.js"]
CMD ["run", "--config", "/app/config"]
