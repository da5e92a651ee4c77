#!/usr/bin/env bash
# Tries the README's Install section as a new user would, in a clean container: Debian
# bookworm from `golive image build` (the golive/redis:7 rootfs, run as root with a shell),
# no golive, no cargo cache, no target folder. Only the registries are reached: Debian's
# packages (a C compiler and git) and crates.io (the dependencies). The Rust toolchain is
# the host's, mounted read-only (rustup's own servers are not reachable here); the
# repository is this checkout, mounted read-only and installed from with `--git file://`
# exactly as the README's `cargo install --locked --git URL golive`.
#
# Then the installed golive must run its demo (as a local process: no Docker inside) to
# GO, validate the shipped checklists, and `cargo release-static` from a clone must give a
# static-pie with no interpreter.
#
#   sudo bash ci/install-check.sh            # about 25 minutes on 2 cores (two release builds)
#   GOLIVE_INSTALL_CHECK_STATIC=0 ...        # only the cargo install half
#
# Not part of .ci/run (two release builds do not fit its 45 minutes); its last outcome is
# recorded in docs/install-check.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
image=golive/redis:7
docker image inspect "$image" >/dev/null 2>&1 || {
  echo "install-check: $image is missing; build it with: sudo golive image build --only redis" >&2
  exit 3
}
sysroot="$(rustc --print sysroot)"
[ -z "$(git status --porcelain)" ] || echo "install-check: note: uncommitted changes are not installed (cargo installs the committed HEAD)" >&2
name="golive-install-check-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT

# The script run inside the container. It reads its settings from the environment, so
# nothing in it is expanded here.
# shellcheck disable=SC2016
inside='
set -euo pipefail
export PATH=/opt/rust/bin:/root/.cargo/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive
echo "== Debian packages: a C compiler (ring) and git (cargo --git)"
apt-get update -qq
apt-get install -y -qq --no-install-recommends gcc libc6-dev git ca-certificates >/dev/null
git config --global --add safe.directory "*"
cargo --version
echo "== cargo install --locked --git file:///src golive"
start=$(date +%s)
cargo install --locked --git file:///src golive
echo "install took $(( $(date +%s) - start )) s"
command -v golive
golive --version
echo "== golive validate checks/ (the shipped checklists)"
golive validate /src/checks
echo "== golive demo (no Docker in here: the reference system runs as a local process)"
cd /tmp
golive demo
if [ "$STATIC" = 1 ]; then
  echo "== cargo release-static in a clone"
  git clone -q /src /tmp/golive
  cd /tmp/golive
  start=$(date +%s)
  cargo release-static
  echo "static build took $(( $(date +%s) - start )) s"
  bin=target/x86_64-unknown-linux-gnu/release/golive
  if readelf -l "$bin" | grep -q "Requesting program interpreter"; then
    echo "install-check: $bin asks for a dynamic loader" >&2
    exit 1
  fi
  readelf -h "$bin" | grep "Type:"
  "$bin" --version
fi
echo "install-check: the README install section works"
'
# The host's trusted certificate authorities, for cargo's HTTPS to crates.io: a machine
# behind a TLS-inspecting proxy (as this workplace and many CI runners are) trusts the
# proxy's CA there; elsewhere it is the distribution's own bundle.
ca=()
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [ -f "$bundle" ]; then
    ca=(-v "$bundle:/etc/golive-host-ca.crt:ro" -e CARGO_HTTP_CAINFO=/etc/golive-host-ca.crt)
    break
  fi
done
docker run --name "$name" --rm --user 0 --entrypoint /bin/bash \
  -e STATIC="${GOLIVE_INSTALL_CHECK_STATIC:-1}" "${ca[@]}" \
  -v "$sysroot:/opt/rust:ro" -v "$repo:/src:ro" \
  "$image" -c "$inside"
