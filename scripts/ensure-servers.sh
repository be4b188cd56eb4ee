#!/usr/bin/env bash
# Starts the machine's PostgreSQL, Redis and RabbitMQ when one of them is not answering (they
# normally run already on this kind of machine), waits until each answers, and enables RabbitMQ's
# management API. Installs Debian's Chromium when missing, unless SKIP_CHROMIUM=1 (the test
# command then installs it beside the first tests), and axe-core from npm into .tools (not in
# git): the web storefront's browser tests drive the one and run the other in its pages.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 150); do up "$1" && return 0; sleep 0.2; done; echo "port $1 never answered" >&2; return 1; }

if ! up 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_for 5432
fi
if ! up 6379; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 6379
fi
if ! up 5672; then
  rabbitmq-server -detached
  wait_for 5672
fi
# Each test gets its own RabbitMQ virtual host, made through the management API (pkg/testkit):
# rabbitmqctl, the other way, starts an Erlang VM at every call.
if ! up 15672; then
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_for 15672
fi
if [ "${SKIP_CHROMIUM:-}" != 1 ] && ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
axe_core=4.11.0
if ! grep -qs "\"version\": \"$axe_core\"" .tools/node_modules/axe-core/package.json; then
  command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
  npm install --prefix .tools --no-audit --no-fund --loglevel=error "axe-core@$axe_core" >/dev/null
fi
