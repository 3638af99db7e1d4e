#!/usr/bin/env bash
# Unpack Debian's simplesamlphp package into a folder (default: var/sso/simplesamlphp under the
# repository) without installing it: the package depends on a web server (Apache), which the tests
# do not want; they serve its www folder with `php -S`. Quick when already unpacked.
# Needs apt (apt-get download) and dpkg-deb; PHP itself is installed by .ci/run.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
target="${1:-${TESSERA_SIMPLESAMLPHP_DIR:-$repo/var/sso/simplesamlphp}}"
if [ -f "$target/www/module.php" ]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt's download user must be able to write here
(cd "$work" && apt-get download simplesamlphp >/dev/null 2>&1 || (apt-get update -qq && apt-get download simplesamlphp))
dpkg-deb -x "$work"/simplesamlphp_*.deb "$work/root"
mkdir -p "$(dirname "$target")"
rm -rf "$target"
mv "$work/root/usr/share/simplesamlphp" "$target"
echo "SimpleSAMLphp $(dpkg-deb -f "$work"/simplesamlphp_*.deb Version) unpacked into $target"
