#!/usr/bin/env bash
# The server in CI: start `convostore serve` on a fresh store, deliver one signed webhook, query the
# conversation it made, stop it with SIGTERM; fails unless each answer and the exit status are right.
#   scripts/serve-smoke.sh [path/to/convostore]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
bin=${1:-}
if [ -z "$bin" ]; then
  $SWIFT build --product convostore >&2
  bin="$($SWIFT build --show-bin-path)/convostore"
fi
dir=$(mktemp -d /tmp/convostore-serve-smoke-XXXXXX)
umask 077
printf 'smoke-app-secret\n' > "$dir/app-secret"
printf 'smoke-verify-token\n' > "$dir/verify-token"
printf 'smoke-api-token\n' > "$dir/api-token"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"

"$bin" serve --db "$dir/db" --port "$port" --app-secret-file "$dir/app-secret" --verify-token-file "$dir/verify-token" \
  --api-token-file "$dir/api-token" --log-level debug 2> "$dir/server.log" &
server=$!
trap 'kill -KILL $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 300); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "serve exited before listening:" >&2; cat "$dir/server.log" >&2; exit 1; }
  sleep 0.1
done

fail() { echo "serve smoke: $*" >&2; cat "$dir/server.log" >&2; exit 1; }
body='{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"15550001111"},"messages":[{"from":"447700900123","id":"wamid.smoke","timestamp":"1751364000","type":"text","text":{"body":"hello"}}]},"field":"messages"}]}]}'
signature=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "smoke-app-secret" -r | cut -d' ' -f1)
status=$(curl -sS -o "$dir/delivery.json" -w '%{http_code}' -X POST "$url/webhook" -H "Content-Type: application/json" \
  -H "X-Hub-Signature-256: sha256=$signature" --data-binary "$body")
[ "$status" = 200 ] || fail "signed delivery answered $status: $(cat "$dir/delivery.json")"
status=$(curl -sS -o "$dir/forged.json" -w '%{http_code}' -X POST "$url/webhook" -H "X-Hub-Signature-256: sha256=$(printf '0%.0s' $(seq 64))" --data-binary "$body")
[ "$status" = 401 ] || fail "forged delivery answered $status"
status=$(curl -sS -o "$dir/show.json" -w '%{http_code}' -H "Authorization: Bearer smoke-api-token" \
  "$url/v1/conversations/15550001111/447700900123?at=2025-07-01T10:01:00Z")
[ "$status" = 200 ] || fail "query answered $status: $(cat "$dir/show.json")"
grep -q '"window_open":true' "$dir/show.json" || fail "unexpected conversation: $(cat "$dir/show.json")"
kill -TERM $server
wait $server || fail "serve exited $? after SIGTERM"
"$bin" show --db "$dir/db" --business 15550001111 --customer 447700900123 --at 2025-07-01T10:01:00Z --json | cmp -s - "$dir/show.json" \
  || fail "the query's answer differs from the command line's"
echo "serve smoke: signed delivery 200, forged 401, query 200 (as the command line), SIGTERM exit 0"
