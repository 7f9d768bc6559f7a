# Roomline: one image for every process; ROOMLINE_PROCESS picks api, projector, worker or all.
# TypeScript runs through tsx (a runtime dependency): a compiled dist/ is not the supported path yet.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
# DATA_DIR (default .data): local files; a volume in docker-compose.yml.
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
EXPOSE 3000
# node --import tsx: one process, so SIGTERM reaches the app itself (graceful shutdown).
CMD ["node", "--import", "tsx", "infra/main.ts"]
