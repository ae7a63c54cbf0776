#!/usr/bin/env bash
# Mints an HS256 test token for a node started with --auth-secret:
#
#   scripts/token.sh --secret S --sub alice [--ttl 3600] [--claims '{"rooms":["chat:*"]}']
#
# The secret may come from SWITCHBOARD_AUTH_SECRET instead of --secret.
# --claims adds claims (a JSON object) to sub and exp. Prints the token;
# connect with ws://host:port/ws?token=<token> or Authorization: Bearer.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

secret="${SWITCHBOARD_AUTH_SECRET:-}"
sub=""
ttl=3600
extra="{}"
while [ $# -gt 0 ]; do
  case "$1" in
    --secret) [ $# -ge 2 ] || die "--secret needs a value"; secret="$2"; shift ;;
    --sub) [ $# -ge 2 ] || die "--sub needs a value"; sub="$2"; shift ;;
    --ttl) [ $# -ge 2 ] || die "--ttl needs a number of seconds"; ttl="$2"; shift ;;
    --claims) [ $# -ge 2 ] || die "--claims needs a JSON object"; extra="$2"; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done
[ -n "$secret" ] || die "no secret: give --secret or set SWITCHBOARD_AUTH_SECRET"
[ -n "$sub" ] || die "no user: give --sub"
[[ "$ttl" =~ ^[0-9]+$ ]] || die "--ttl: '$ttl' is not a number of seconds"
command -v openssl >/dev/null || die "openssl is not installed"
command -v node >/dev/null || die "node is not installed (scripts/test.sh installs it)"

# JSON is built by node, so that a sub or claims with quotes stay well-formed.
payload=$(node -e '
  const [sub, ttl, extra] = process.argv.slice(1);
  let more;
  try { more = JSON.parse(extra); } catch (e) { console.error("error: --claims is not JSON"); process.exit(1); }
  if (typeof more !== "object" || more === null || Array.isArray(more)) { console.error("error: --claims is not a JSON object"); process.exit(1); }
  process.stdout.write(JSON.stringify({ ...more, sub, exp: Math.floor(Date.now() / 1000) + Number(ttl) }));
' "$sub" "$ttl" "$extra")
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
input="$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url).$(printf '%s' "$payload" | b64url)"
signature=$(printf '%s' "$input" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
printf '%s.%s\n' "$input" "$signature"
