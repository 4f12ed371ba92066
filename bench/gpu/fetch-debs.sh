#!/usr/bin/env bash
# Downloads the Ubuntu 24.04 (noble) .debs that bench/gpu/cli.sh unpacks on the lent GPU machine:
# that image has pip torch (CUDA), CMake, g++, libcurl/libssl/libpng -dev, nlohmann-json, CLI11 and
# gtest, but no network and no libsqlite3-dev or cairo. Run it here (Debian or Ubuntu, any
# machine with apt-get and network): it uses a private apt state under $TMPDIR and changes
# nothing of the system's. The Release files are checked against the Ubuntu archive keyring
# where it is installed (/usr/share/keyrings/ubuntu-archive-keyring.gpg, package ubuntu-keyring);
# Debian lacks it, and then they are taken unchecked (said on stderr).
#   bench/gpu/fetch-debs.sh [DIR]     DIR default .gpu-debs (ignored by git; carry it to the machine)
# Env: SUITE (noble), MIRROR (http://archive.ubuntu.com/ubuntu).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=${1:-.gpu-debs}
SUITE=${SUITE:-noble}
MIRROR=${MIRROR:-http://archive.ubuntu.com/ubuntu}
# The -dev packages the image lacks, cairo's runtime closure (linked through libcairo.so) and
# fontconfig's configuration with one font (figures draw text).
PACKAGES=(libsqlite3-dev libcairo2-dev libcairo2 libpixman-1-0 libfontconfig1 libfreetype6 libx11-6 libxcb1
  libxcb-render0 libxcb-shm0 libxext6 libxrender1 libxau6 libxdmcp6 libbsd0 libmd0 libbrotli1 libexpat1
  fontconfig-config fonts-dejavu-core fonts-dejavu-mono nlohmann-json3-dev libcli11-dev pkgconf pkgconf-bin
  libpkgconf3)
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
keyring=/usr/share/keyrings/ubuntu-archive-keyring.gpg
if [ -f "$keyring" ]; then
  opts="arch=amd64 signed-by=$keyring"
else
  opts="arch=amd64 trusted=yes"
  echo "fetch-debs: $keyring not found: the archive's signatures are not checked" >&2
fi
for s in "$SUITE" "$SUITE-updates" "$SUITE-security"; do
  echo "deb [$opts] $MIRROR $s main universe"
done >"$state/sources.list"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$DEST"
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::Etc::SourceList="$state/sources.list"
  -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$state/lists" -oDir::Cache="$state/cache"
  -oDir::State::status=/dev/null -oDebug::NoLocking=1)
apt-get "${apt_opts[@]}" update >/dev/null
rm -f "$DEST"/*.deb
(cd "$DEST" && apt-get "${apt_opts[@]}" download "${PACKAGES[@]}")
echo "fetch-debs: $(ls "$DEST"/*.deb | wc -l) packages, $(du -sh "$DEST" | cut -f1) in $DEST"
