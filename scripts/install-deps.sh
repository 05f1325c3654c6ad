#!/usr/bin/env bash
# Installs Mantle's build and test dependencies from Debian 12 packages.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache
  libboost-dev                        # Boost.DLL (module loading), Asio and Beast (HTTP)
  libprotobuf-dev protobuf-compiler   # module ABI messages, Mesos v1 wire protocol
  libprotobuf-c-dev protobuf-c-compiler  # examples/modules/c_isolator: a module in plain C
  libzookeeper-mt-dev zookeeper       # HA client; the server (it pulls in default-jre) is started by tests
  libcurl4-openssl-dev                # webhook sender (webhook hook, mantle-cron)
  libssl-dev                          # TLS (master/agent HTTPS), HMAC (jwt, executor tokens)
  openssl                             # tests make their certificates with it
  libjsoncpp-dev                      # manifests and JSON endpoints
  libgoogle-glog-dev                  # logging
  libsasl2-dev libsasl2-modules       # Cyrus SASL and its CRAM-MD5 plugin (v0 framework authentication)
  libgtest-dev libgmock-dev           # tests
  libbenchmark-dev                    # bench/
  libseccomp-dev libcap-dev           # the hardening isolators: seccomp profiles, capability names
  libicu-dev                          # mantle-cron's time zones (ICU calendar and tz database)
  tar unzip bzip2 xz-utils            # the agent's fetcher extracts archives with them
  zip                                 # tests make .zip archives
  chromium fonts-dejavu-core          # the web UI's browser tests and bench (headless, DevTools protocol)
  libldns-dev                         # mantle-dns: the DNS wire format (packets, names, records)
  dnsutils                            # mantle-dns tests ask it with dig
  haproxy                             # mantle-lb drives it; its tests run it on loopback
  libarchive-dev                      # the image store extracts image layers
  docker-registry skopeo umoci busybox-static  # image tests: a loopback registry, images the tests build
  containernetworking-plugins iptables  # network/cni: bridge, host-local, portmap, loopback
)

# The Mesos reference build (a peer in tests, ../shared/mesos-reference next to the checkout, or
# $MANTLE_MESOS_REFERENCE), when present: its own script installs the libraries it links against.
mesos_reference="${MANTLE_MESOS_REFERENCE:-$(cd "$(dirname "$0")/.." && pwd)/../shared/mesos-reference}"
install_mesos_reference() {
  if [ -x "$mesos_reference/setup.sh" ]; then
    "$mesos_reference/setup.sh"
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  install_mesos_reference
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_mesos_reference
