#!/bin/sh
# molecule-tenant bootstrap: makes this Debian/Ubuntu host able to run the molecule-tenant
# binary, fetches and verifies it, then runs `molecule-tenant install` with your flags.
#
#   curl -fsSL <release-url>/install.sh | sudo sh -s -- [install flags]
#   sudo sh install.sh --binary ./molecule-tenant --plan
#   sudo sh install.sh --bundle molecule-tenant-1.0.0-linux-amd64.tar.gz --trusted-key release.pub.pem
#   sudo sh install.sh --release-url https://releases.example.com/molecule-tenant --trusted-key release.pub.pem
#
# Options (the rest goes to `molecule-tenant install`, e.g. --plan, --json, --org-id):
#   --binary PATH       use this local binary instead of downloading one
#   --bundle FILE       install the binary of this signed release bundle (`release bundle`);
#                       FILE.sig beside it must be a valid Ed25519 signature by the
#                       --trusted-key, else by a key in /etc/molecule-tenant/trusted-keys/
#                       (the keys `upgrade` trusts), checked with the openssl tool
#   --trusted-key PEM   the release public key to check --bundle with (copied into
#                       /etc/molecule-tenant/trusted-keys/, so upgrades trust it too)
#   --release-url URL   fetch the signed bundle from this release server (env
#                       MOLECULE_RELEASE_URL): the release channels/<channel>.json names
#                       (its sha256 checked too), or --to VERSION's bundle; then as --bundle.
#                       Written to tenant.env as MOLECULE_RELEASE_URL unless the platform
#                       set one, so `upgrade` and the update timer follow the same server
#   --channel NAME      the channel to install from with --release-url (default: stable)
#   --to VERSION        install this release from --release-url instead of the channel's
#   --download-url URL  where molecule-tenant-linux-<arch> and its .sha256 live
#                       (env MOLECULE_DOWNLOAD_URL; default: the project's latest release)
#
# Everything happens in one function called on the last line, so a download cut short
# runs nothing.

molecule_tenant_bootstrap() {
  set -eu
  say() { printf 'install.sh: %s\n' "$*" >&2; }
  die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

  binary=""
  bundle=""
  trusted_key=""
  planning=""
  release_url="${MOLECULE_RELEASE_URL:-}"
  release_url_given=""
  channel=""
  to_version=""
  download_url="${MOLECULE_DOWNLOAD_URL:-https://github.com/Molecule-AI/molecule-tenant/releases/latest/download}"
  # Our own options come out; the others are kept, in order, for `install`.
  count=$#
  while [ "$count" -gt 0 ]; do
    arg=$1; shift; count=$((count - 1))
    case $arg in
      --binary) [ "$count" -gt 0 ] || die "--binary needs a PATH"; binary=$1; shift; count=$((count - 1)) ;;
      --binary=*) binary=${arg#--binary=} ;;
      --bundle) [ "$count" -gt 0 ] || die "--bundle needs a FILE"; bundle=$1; shift; count=$((count - 1)) ;;
      --bundle=*) bundle=${arg#--bundle=} ;;
      --trusted-key) [ "$count" -gt 0 ] || die "--trusted-key needs a PEM file"; trusted_key=$1; shift; count=$((count - 1)) ;;
      --trusted-key=*) trusted_key=${arg#--trusted-key=} ;;
      --release-url) [ "$count" -gt 0 ] || die "--release-url needs a URL"; release_url=$1; release_url_given=1; shift; count=$((count - 1)) ;;
      --release-url=*) release_url=${arg#--release-url=}; release_url_given=1 ;;
      --channel) [ "$count" -gt 0 ] || die "--channel needs a NAME"; channel=$1; shift; count=$((count - 1)) ;;
      --channel=*) channel=${arg#--channel=} ;;
      --to) [ "$count" -gt 0 ] || die "--to needs a VERSION"; to_version=$1; shift; count=$((count - 1)) ;;
      --to=*) to_version=${arg#--to=} ;;
      --download-url) [ "$count" -gt 0 ] || die "--download-url needs a URL"; download_url=$1; shift; count=$((count - 1)) ;;
      --download-url=*) download_url=${arg#--download-url=} ;;
      *) [ "$arg" != --plan ] || planning=1; set -- "$@" "$arg" ;;
    esac
  done

  [ "$(id -u)" = 0 ] || die "run as root: curl -fsSL .../install.sh | sudo sh"
  [ -z "$bundle" ] || [ -z "$binary" ] || die "use --binary or --bundle, not both"
  # MOLECULE_RELEASE_URL in the environment alone does not switch to release downloads:
  # only --release-url (or --channel/--to, which need a release server) does.
  from_release=""
  [ -z "$release_url_given$channel$to_version" ] || from_release=1
  if [ -n "$from_release" ]; then
    [ -n "$release_url" ] || die "--channel and --to need a release server: pass --release-url URL (or set MOLECULE_RELEASE_URL)"
    [ -z "$bundle" ] && [ -z "$binary" ] || die "use --release-url, --bundle or --binary, only one"
    [ -z "$channel" ] || [ -z "$to_version" ] || die "use --channel or --to, not both"
    case $release_url in http://* | https://*) ;; *) die "--release-url must be an http:// or https:// URL: $release_url" ;; esac
    case $to_version in *[!A-Za-z0-9.+-]*) die "--to: not a version: $to_version" ;; esac
    case $channel in *[!A-Za-z0-9._-]*) die "--channel: not a channel name: $channel" ;; esac
    release_url=${release_url%/}
  fi
  [ -z "$trusted_key" ] || [ -n "$bundle$from_release" ] || die "--trusted-key checks a --bundle or --release-url; there is none"

  case $(uname -m) in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "architecture $(uname -m) is not supported (amd64, arm64)" ;;
  esac

  [ -r /etc/os-release ] || die "no /etc/os-release: supported are Debian 12, Debian 13, Ubuntu 22.04, Ubuntu 24.04"
  os_id=$(. /etc/os-release && printf %s "${ID:-}")
  os_version=$(. /etc/os-release && printf %s "${VERSION_ID:-}")
  case "$os_id $os_version" in
    "debian 12" | "ubuntu 22.04") libarchive=libarchive13 ;;
    "debian 13" | "ubuntu 24.04") libarchive=libarchive13t64 ;;
    *) die "$os_id $os_version is not supported: use Debian 12, Debian 13, Ubuntu 22.04 or Ubuntu 24.04" ;;
  esac

  # The binary links libpq (and libarchive for releases); without them it cannot start,
  # so they come before everything else. apt waits up to 5 minutes for a busy dpkg.
  missing=""
  # openssl (the tool) checks a bundle's signature; a minimal host has only its library.
  # curl fetches from a release server; a minimal host may have neither it nor wget.
  downloader=""
  if [ -n "$from_release" ] && ! command -v curl >/dev/null 2>&1; then downloader=curl; fi
  for package in libpq5 "$libarchive" ca-certificates $downloader ${bundle:+openssl} ${from_release:+openssl}; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing="$missing $package"
  done
  if [ -n "$missing" ]; then
    say "installing the runtime libraries:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 $missing >/dev/null 2>&1; then
      apt-get update -q -o DPkg::Lock::Timeout=300 >/dev/null || die "apt-get update failed"
      # shellcheck disable=SC2086
      apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 $missing >/dev/null || die "could not install$missing"
    fi
  fi

  if [ -n "$from_release" ]; then
    workdir=$(mktemp -d)
    trap 'rm -rf "$workdir"' EXIT
    fetch() { # URL FILE
      curl -fsSL --proto '=https,http' --retry 3 --max-time 600 -o "$2" "$1" || die "download of $1 failed"
    }
    expected=""
    if [ -n "$to_version" ]; then
      name=molecule-tenant-$to_version-linux-$arch.tar.gz
      url=$release_url/$name
    else
      channel=${channel:-stable}
      fetch "$release_url/channels/$channel.json" "$workdir/channel.json"
      # The channel file is one small JSON object {version, url, sha256} (docs/upgrading.md).
      field() { tr -d '\n' <"$workdir/channel.json" | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"; }
      url=$(field url)
      expected=$(field sha256)
      [ -n "$url" ] || die "$release_url/channels/$channel.json names no url"
      case $url in http://* | https://*) ;; *) url=$release_url/$url ;; esac
      name=$(basename "$url")
      say "channel $channel is at $(field version)"
    fi
    case $name in molecule-tenant-*-linux-"$arch".tar.gz) ;; *) die "$url is not a bundle for linux-$arch" ;; esac
    say "downloading $url"
    fetch "$url" "$workdir/$name"
    fetch "$url.sig" "$workdir/$name.sig"
    if [ -n "$expected" ]; then
      actual=$(sha256sum "$workdir/$name" | cut -d ' ' -f 1)
      [ "$expected" = "$actual" ] || die "checksum mismatch for $name: the channel says $expected, the download is $actual"
    fi
    bundle=$workdir/$name
  fi

  if [ -n "$bundle" ]; then
    [ -f "$bundle" ] || die "no such bundle: $bundle"
    [ -f "$bundle.sig" ] || die "no signature beside the bundle: $bundle.sig (unsigned bundles are refused)"
    signer=""
    if [ -n "$trusted_key" ]; then
      [ -f "$trusted_key" ] || die "no such key: $trusted_key"
      openssl pkeyutl -verify -pubin -inkey "$trusted_key" -rawin -in "$bundle" -sigfile "$bundle.sig" >/dev/null 2>&1 && signer=$trusted_key
    else
      for key in /etc/molecule-tenant/trusted-keys/*.pem; do
        [ -f "$key" ] || die "no trusted key to check $bundle with: pass --trusted-key PEM, or put the release public key in /etc/molecule-tenant/trusted-keys/"
        if openssl pkeyutl -verify -pubin -inkey "$key" -rawin -in "$bundle" -sigfile "$bundle.sig" >/dev/null 2>&1; then signer=$key; break; fi
      done
    fi
    [ -n "$signer" ] || die "$bundle.sig is not a valid signature by ${trusted_key:-any key in /etc/molecule-tenant/trusted-keys/}: refusing the bundle"
    say "verified the signature of $bundle with $signer"
    if [ -n "$trusted_key" ] && [ -z "$planning" ]; then
      # `upgrade` checks bundles with the keys in trusted-keys/: the key that vouched for
      # this install vouches for the releases after it too.
      keyfile=/etc/molecule-tenant/trusted-keys/$(basename "$trusted_key" .pem).pem
      mkdir -p /etc/molecule-tenant/trusted-keys
      if ! cmp -s "$trusted_key" "$keyfile" 2>/dev/null; then
        cp "$trusted_key" "$keyfile.tmp" && chmod 0644 "$keyfile.tmp" && mv "$keyfile.tmp" "$keyfile" \
          || die "cannot copy $trusted_key to $keyfile"
      fi
      say "upgrades will trust $trusted_key too: $keyfile"
    fi
    if [ -z "${workdir:-}" ]; then
      workdir=$(mktemp -d)
      trap 'rm -rf "$workdir"' EXIT
    fi
    mkdir "$workdir/unpacked"
    tar -xzf "$bundle" -C "$workdir/unpacked" || die "cannot unpack $bundle"
    [ -f "$workdir/unpacked/molecule-tenant" ] || die "$bundle holds no molecule-tenant binary"
    binary=$workdir/unpacked/molecule-tenant
  elif [ -z "$binary" ]; then
    workdir=$(mktemp -d)
    trap 'rm -rf "$workdir"' EXIT
    name=molecule-tenant-linux-$arch
    say "downloading $download_url/$name"
    if command -v curl >/dev/null 2>&1; then
      curl -fsSL --proto '=https,http' -o "$workdir/$name" "$download_url/$name" || die "download of $name failed"
      curl -fsSL --proto '=https,http' -o "$workdir/$name.sha256" "$download_url/$name.sha256" || die "download of $name.sha256 failed"
    elif command -v wget >/dev/null 2>&1; then
      wget -q -O "$workdir/$name" "$download_url/$name" || die "download of $name failed"
      wget -q -O "$workdir/$name.sha256" "$download_url/$name.sha256" || die "download of $name.sha256 failed"
    else
      die "neither curl nor wget is installed: apt-get install curl"
    fi
    expected=$(cut -d ' ' -f 1 "$workdir/$name.sha256")
    actual=$(sha256sum "$workdir/$name" | cut -d ' ' -f 1)
    [ -n "$expected" ] && [ "$expected" = "$actual" ] || die "checksum mismatch for $name: expected $expected, got $actual"
    say "verified sha256 $actual"
    chmod 0755 "$workdir/$name"
    binary=$workdir/$name
  fi

  [ -f "$binary" ] || die "no such binary: $binary"
  [ -x "$binary" ] || chmod 0755 "$binary"
  "$binary" --version >/dev/null 2>&1 || die "$binary does not run on this host ($("$binary" --version 2>&1 | head -n 1))"
  if [ -n "${workdir:-}" ]; then
    # install copies the binary to /usr/local/bin; the download goes away afterwards.
    "$binary" install "$@" || exit $?
    env_file=/etc/molecule-tenant/tenant.env
    if [ -n "$from_release" ] && [ -z "$planning" ] && [ -f "$env_file" ] && ! grep -q '^MOLECULE_RELEASE_URL=' "$env_file"; then
      # Upgrades follow the server this install came from (install keeps keys it does not manage).
      printf 'MOLECULE_RELEASE_URL=%s\n' "$release_url" >>"$env_file"
      say "upgrades will follow $release_url (MOLECULE_RELEASE_URL in $env_file)"
    fi
  else
    exec "$binary" install "$@"
  fi
}

molecule_tenant_bootstrap "$@"
