#!/usr/bin/env bash
# The README's first command: installs what is needed, builds Mantle, starts a
# single-machine cluster (a master and an agent on loopback, standalone
# registry) and runs an example task on it. Running it again reuses the
# cluster that is already up.
#   MANTLE_HOME   where the cluster keeps state and logs (default /tmp/mantle-cluster)
#   MANTLE_MASTER_PORT / MANTLE_AGENT_PORT   default 5050 / 5051
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MANTLE_BUILD_DIR:-$root/build}
home=${MANTLE_HOME:-/tmp/mantle-cluster}
master_port=${MANTLE_MASTER_PORT:-5050}
agent_port=${MANTLE_AGENT_PORT:-5051}
"$root/scripts/build.sh" -DMANTLE_BUILD_TESTS=OFF -DMANTLE_BUILD_BENCH=OFF
mantle="$build/bin/mantle"

echo
echo "== built-in modules (default manifest)"
"$mantle" modules check | grep -E "^(/|  [a-z])" | sed 's/, library.*//'

echo
if [ -f "$home/master.pid" ] && kill -0 "$(cat "$home/master.pid")" 2>/dev/null; then
  echo "== the cluster in $home is already up"
else
  echo "== starting a master and an agent"
  "$mantle" cluster up --work_dir="$home" --master_port="$master_port" --agent_port="$agent_port"
fi

echo
echo "== an example task: mantle run -- 'echo Hello from Mantle on \$(hostname)'"
"$mantle" run --master="127.0.0.1:$master_port" --name=hello -- 'echo "Hello from Mantle on $(hostname)"'

cat <<EOT

Mantle is running:
  web UI   http://127.0.0.1:$master_port/  (open it in a browser: agents, frameworks, tasks, sandboxes, live)
  master   http://127.0.0.1:$master_port   (/master/state, /api/v1/scheduler, /api/v1, /metrics)
  agent    http://127.0.0.1:$agent_port    (/state, /monitor/statistics, /files/browse)
  logs     $home/master.log, $home/agent.log
Run a task:   $mantle run --master=127.0.0.1:$master_port -- 'your command'
Stop it all:  $mantle cluster down --work_dir=$home
EOT
