#!/usr/bin/env bash
# Starts the machine's PostgreSQL, Redis and RabbitMQ when one of them is not answering (they
# normally run already on this kind of machine), and waits until each answers. Installs Debian's
# Chromium when missing (the web storefront's browser tests drive it), unless SKIP_CHROMIUM=1:
# the test command installs it beside the first tests instead.
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
if [ "${SKIP_CHROMIUM:-}" != 1 ] && ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
