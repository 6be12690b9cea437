#!/usr/bin/env bash
# The programs Launchpad runs that npm cannot install: git (sessions clone project repositories),
# Jupyter (the default environment's notebook server, run by the process runtime), rclone with
# fuse3 (data connectors mounted into sessions) and nftables (workloads kept off the platform's ports). On Debian
# and Ubuntu they come from the distribution's packages; elsewhere, install them your own way.
set -euo pipefail

missing=()
command -v git >/dev/null || missing+=(git)
command -v jupyter >/dev/null && jupyter notebook --version >/dev/null 2>&1 || missing+=(jupyter-notebook python3-ipykernel)
command -v nats-server >/dev/null || missing+=(nats-server)
# Data connectors: sessions mount storage with `rclone mount` (FUSE).
command -v rclone >/dev/null || missing+=(rclone)
command -v fusermount3 >/dev/null || missing+=(fuse3)
# Run as root, the process runtime keeps workloads off the platform's ports with nftables rules.
command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing+=(nftables)
# The browser tests (e2e/browser-isolation) drive Debian's Chromium through playwright-core,
# which downloads no browser of its own.
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && { echo "setup: git, jupyter, nats-server, rclone, fuse3, nftables and chromium are installed"; exit 0; }

if ! command -v apt-get >/dev/null; then
  echo "setup: please install: ${missing[*]} (this script only knows Debian's apt-get)" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "setup: installing ${missing[*]} from Debian's packages"
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || {
  $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
