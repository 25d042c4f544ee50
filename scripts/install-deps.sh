#!/usr/bin/env bash
# Installs the Debian packages Berth builds with and tests against. Needs root; skips the package
# manager when everything is already present.
set -euo pipefail

packages=(
  etcd-server etcd-client    # the scheduler's store
  docker-registry            # the OCI registry the tests and the demo pull from
  skopeo umoci busybox-static  # independent tools that build and push test images
  iproute2 nftables iptables   # network namespaces, bridges and published ports
  conntrack                    # deletes the NAT entries of deleted containers
  gcc make libc6-dev           # the runtime's C helper and the layer helper
  libseccomp-dev pkg-config    # seccomp filters in the native runtime
  libisal-dev                  # ISA-L's igzip, which inflates image layers
  crun runc                    # reference runtimes for spec agreement tests and benchmarks
  valgrind                     # leak checks of the native addon
  apache2-utils zstd         # htpasswd -B for registry Basic auth tests; zstd layers in image tests
  attr libcap2-bin           # getfattr and getcap read file capabilities in image tests
  curl jq
  openssl                    # self-signed certificates for the scheduler's TLS tests
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
