#!/usr/bin/env bash
# Restart the FAQ's replicas one at a time, so nginx always has one to send questions to.
#
#     sudo deploy/rolling-restart.sh          # every running qa-faq@PORT
#     sudo deploy/rolling-restart.sh 8001     # only these ports
#
# For each replica: `systemctl restart` sends SIGTERM (uvicorn finishes the questions in flight,
# nginx sends new ones to the others), starts it again, waits until it answers on its port, then
# waits SETTLE_S more: nginx may have marked it down while it was away (fail_timeout=2s in
# deploy/nginx/qa-faq.conf), and must have taken it back before the next one goes.
set -euo pipefail
SETTLE_S=${SETTLE_S:-3}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-120}

if [ "$#" -gt 0 ]; then
  ports=("$@")
else
  mapfile -t ports < <(systemctl list-units --type=service --state=active --no-legend --plain 'qa-faq@*.service' \
                       | awk '{print $1}' | sed -E 's/^qa-faq@([0-9]+)\.service$/\1/')
fi
if [ "${#ports[@]}" -lt 2 ]; then
  echo "warning: ${#ports[@]} replica(s) running; restarting the only one drops requests while it starts" >&2
fi

for port in "${ports[@]}"; do
  echo "restarting qa-faq@$port"
  systemctl restart "qa-faq@$port.service"
  waited=0
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/api/health"; do
    if [ "$waited" -ge "$READY_TIMEOUT_S" ]; then
      echo "error: qa-faq@$port did not answer within ${READY_TIMEOUT_S} s; stopping here (see journalctl -u qa-faq@$port)" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  sleep "$SETTLE_S"
done
echo "done: ${ports[*]}"
