#!/usr/bin/env bash
# Fetches Unleash's public client-specification suite (npm @unleash/client-specification)
# into target/, for app/tests/unleash.rs, which runs its cases against app/src/flags.rs.
# Skips the download when the suite is already extracted; checks the tarball's SHA-256.
# Prints the directory.
# Usage: bash scripts/unleash_spec.sh
set -euo pipefail
cd "$(dirname "$0")/.."

version=6.1.0
sha256=88e154a8dd69b3c856b694332f0b4af75a4b985977b259600f94a0328b29e2fb
dir="target/unleash-client-specification-${version}"
url="https://registry.npmjs.org/@unleash/client-specification/-/client-specification-${version}.tgz"
tgz="${dir}/client-specification-${version}.tgz"

if ! compgen -G "${dir}/package/specifications/*.json" >/dev/null; then
  mkdir -p "${dir}"
  rm -f "${tgz}"
  if command -v npm >/dev/null 2>&1; then
    # npm's own client when there is one (it writes unleash-client-specification-X.tgz).
    for attempt in 1 2 3 4 5; do
      if npm pack --silent "@unleash/client-specification@${version}" \
        --pack-destination "${dir}" >/dev/null; then
        mv "${dir}/unleash-client-specification-${version}.tgz" "${tgz}"
        break
      fi
      echo "npm pack failed (attempt ${attempt})" >&2
      sleep 2
    done
  fi
  if [ ! -f "${tgz}" ]; then
    curl --fail --silent --show-error --location \
      --retry 5 --retry-delay 2 --retry-all-errors --connect-timeout 20 \
      -o "${tgz}.part" "${url}"
    mv "${tgz}.part" "${tgz}"
  fi
  echo "${sha256}  ${tgz}" | sha256sum --check --quiet
  tar xzf "${tgz}" -C "${dir}"
  rm -f "${tgz}"
  if ! compgen -G "${dir}/package/specifications/*.json" >/dev/null; then
    echo "no package/specifications/*.json in ${url}" >&2
    exit 1
  fi
fi
echo "${dir}"
