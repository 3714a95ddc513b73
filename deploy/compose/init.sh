#!/bin/bash
# The compose stack's one-shot `init` service (compose.yaml), run before everything else on
# every `up`: makes each secret that does not exist yet and keeps those that do, each in the
# volume of the containers that need it.
set -euo pipefail
umask 077
secrets=/var/lib/pyk8s

python -m pyk8s_kit.natsauth --seeds "$secrets/nats" \
  --config "$secrets/nats/server/server.json" --store-dir /data/jetstream

# PostgreSQL's password: the official image reads its file as the postgres user, so that file
# is world-readable inside a volume only PostgreSQL mounts; services get it as a pgpass file.
if [ ! -s "$secrets/postgres/password" ]; then
  python -c 'import secrets; print(secrets.token_hex(24))' > "$secrets/postgres/password"
  chmod 0644 "$secrets/postgres/password"
fi
printf 'postgres:5432:*:pyk8s:%s\n' "$(cat "$secrets/postgres/password")" > "$secrets/db/pgpass"

# The provisioner's kubeconfig encryption key: PYK8S_KUBECONFIG_KEY when given (newest first,
# comma-separated, to rotate), otherwise made once.
key_file="$secrets/provisioner/kubeconfig.key"
if [ -n "${PYK8S_KUBECONFIG_KEY:-}" ]; then
  printf '%s\n' "$PYK8S_KUBECONFIG_KEY" > "$key_file"
elif [ ! -s "$key_file" ]; then
  python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' \
    > "$key_file"
fi
echo "secrets ready"
