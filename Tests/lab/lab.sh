#!/usr/bin/env bash
# Fresh-host lab: a throw-away Debian 13 (trixie) root filesystem with real systemd as
# PID 1 in its own PID/mount/UTS/IPC/cgroup namespaces, sharing the host network. It lets
# the tests exercise `molecule-tenant install` against a real systemd without Docker or a
# VM. See Tests/lab/README.md and DESIGN.md section 10.
#
#   lab.sh up [--reuse] [NAME]     boot a fresh lab (default NAME=default); prints its PID
#   lab.sh exec NAME -- CMD...     run CMD inside (exit status, stdin and stdout pass through)
#   lab.sh cp NAME SRC DEST        copy a host file or directory into the lab
#   lab.sh down NAME               stop the lab and delete everything it wrote
#   lab.sh status [NAME]           show one lab, or all of them
#
# Environment: LAB_DIR (default /var/tmp/molecule-lab), LAB_CACHE (default
# /var/tmp/molecule-lab-cache), LAB_MIRROR (overrides the mirror read from apt sources),
# LAB_BOOT_TIMEOUT (seconds, default 60).
#
# Progress goes to stderr; `up` prints only the PID on stdout, so `pid=$(lab.sh up x)` works.
set -euo pipefail

LAB_DIR=${LAB_DIR:-/var/tmp/molecule-lab}
LAB_CACHE=${LAB_CACHE:-/var/tmp/molecule-lab-cache}
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-60}
SUITE=trixie
# Packages on top of minbase: systemd as init, and dbus because systemctl/logind expect it.
INCLUDE=systemd,systemd-sysv,dbus
# Bump when prepare_root changes, so a stale prepared root is not reused.
CACHE_VERSION=2
SELF=$(readlink -f "${BASH_SOURCE[0]}")

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
elapsed() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d s' $((ms / 1000)) $(((ms % 1000) / 100)); }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, mounts and namespaces need it)"; }

# Sets STATE (everything of one lab) and ROOT (where its root filesystem is mounted).
lab_paths() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad lab name '$1' (letters, digits, . _ - only)"
  STATE=$LAB_DIR/$1
  ROOT=$STATE/root
}

# ---------------------------------------------------------------------------- host tools

# Install what the lab needs on the host, only when it is missing.
ensure_host_tools() {
  local missing=() t
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v gpgv >/dev/null || missing+=(gpgv)
  command -v gpg >/dev/null || missing+=(gpg)
  command -v wget >/dev/null || missing+=(wget)
  [[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
  for t in unshare nsenter flock setsid mount umount; do
    command -v "$t" >/dev/null || { missing+=(util-linux mount); break; }
  done
  ((${#missing[@]} == 0)) && return 0
  say "installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      die "could not install ${missing[*]} with apt-get"
  }
}

# ------------------------------------------------------------------------------- mirror

# The Debian mirror comes from the host's own apt sources at run time; no package host is
# ever written into the project. We take the source of the host's main suite (e.g.
# "bookworm"), not -security or -updates.
host_mirror() {
  if [[ -n ${LAB_MIRROR:-} ]]; then echo "${LAB_MIRROR%/}"; return; fi
  local id="" codename="" url="" f
  if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    id=$(. /etc/os-release; echo "${ID:-}"); codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
  fi
  # Only a Debian host's mirror also serves trixie (an Ubuntu archive does not).
  if [[ $id == debian && -n $codename ]]; then
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -r $f ]] || continue
      # deb822: blank-line separated stanzas, case-insensitive keys, folded continuation lines.
      url=$(awk -v suite="$codename" '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/ && (" " suites " ") ~ (" " suite " ")) {
            n = split(uris, u, /[ \t]+/)
            for (i = 1; i <= n; i++) if (u[i] ~ /^https?:\/\//) { print u[i]; found = 1; exit }
          }
          types = uris = suites = enabled = key = ""
        }
        /^#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { val = $0; sub(/^[ \t]+/, "", val)
                   if (key == "types") types = types " " val; else if (key == "uris") uris = uris " " val
                   else if (key == "suites") suites = suites " " val
                   next }
        { key = tolower($0); sub(/:.*/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
          if (key == "types") types = val; else if (key == "uris") uris = val
          else if (key == "suites") suites = val; else if (key == "enabled") enabled = tolower(val) }
        END { if (!found) flush() }' "$f")
      [[ -n $url ]] && break
    done
    if [[ -z $url ]]; then
      # One-line format: deb [options] URL suite component...
      url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v suite="$codename" '
        $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                      if ($(i + 1) == suite && $i ~ /^https?:\/\//) { print $i; exit } }')
    fi
  fi
  [[ -n $url ]] || die "no Debian mirror found in this host's apt sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list); set LAB_MIRROR"
  echo "${url%/}"
}

# ---------------------------------------------------------------------------- the cache

# Two cache levels under LAB_CACHE:
#  - debs-*.tgz: `debootstrap --make-tarball`, the downloaded packages (the network part);
#  - root-*/: the root filesystem installed from it with `--unpack-tarball` and prepared.
#    It is never modified afterwards: each lab gets a fresh overlayfs layer on top of it
#    (or, where overlayfs is unavailable, a full copy), so every `up` starts clean.
# Sets TEMPLATE.
ensure_template() {
  local mirror=$1 include=$INCLUDE
  # An https mirror needs CA certificates inside the lab for apt.
  [[ $mirror == https://* ]] && include+=,ca-certificates
  local key; key=$(printf '%s' "$SUITE $include $(dpkg --print-architecture 2>/dev/null || uname -m)" | md5sum | cut -c1-8)
  local debs=$LAB_CACHE/debs-$SUITE-minbase-$key.tgz
  TEMPLATE=$LAB_CACHE/root-$SUITE-$key-v$CACHE_VERSION
  [[ -e $TEMPLATE/etc/os-release ]] && return 0

  mkdir -p "$LAB_CACHE"
  # Serialize cache builds between concurrent `up`s.
  exec 9>"$LAB_CACHE/.lock"
  flock 9
  if [[ -e $TEMPLATE/etc/os-release ]]; then exec 9>&-; return 0; fi

  local script=/usr/share/debootstrap/scripts/$SUITE
  # An older debootstrap may lack the trixie script; trixie bootstraps like sid.
  [[ -e $script ]] || script=/usr/share/debootstrap/scripts/sid
  [[ -e $script ]] || die "debootstrap has no script for $SUITE or sid; upgrade debootstrap"
  # Verify the archive signature with the trixie keys; bookworm's keyring ships them.
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  if ! gpg --show-keys "$keyring" 2>/dev/null | grep -q '(13/trixie)'; then
    keyring=/usr/share/keyrings/debian-archive-trixie-stable.gpg
    [[ -e $keyring ]] || die "no Debian 13 (trixie) archive key on this host; install a newer debian-archive-keyring"
  fi

  local work; work=$(mktemp -d "$LAB_CACHE/build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf --one-file-system '$work'" EXIT
  if [[ ! -s $debs ]]; then
    local t0; t0=$(now_ms)
    say "downloading $SUITE packages from $mirror (first run only)"
    debootstrap --variant=minbase --include="$include" --keyring="$keyring" \
      --make-tarball="$work/debs.tgz" "$SUITE" "$work/dl" "$mirror" "$script" >"$work/log" 2>&1 ||
      { tail -n 20 "$work/log" >&2; die "debootstrap --make-tarball failed (log above)"; }
    mv "$work/debs.tgz" "$debs"
    say "package tarball cached in $(elapsed "$t0")"
  fi

  local t1; t1=$(now_ms)
  say "installing the $SUITE root from the package tarball"
  debootstrap --variant=minbase --include="$include" --keyring="$keyring" \
    --unpack-tarball="$debs" "$SUITE" "$work/root" "$mirror" "$script" >"$work/log" 2>&1 ||
    { tail -n 20 "$work/log" >&2; die "debootstrap --unpack-tarball failed (log above)"; }
  prepare_root "$work/root"
  mv "$work/root" "$TEMPLATE"
  rm -rf --one-file-system "$work"
  trap - EXIT
  exec 9>&-
  say "root prepared and cached in $(elapsed "$t1")"
}

# One-time changes baked into the cached root.
prepare_root() {
  local r=$1 u
  # Units that cannot work here and would only leave the system "degraded":
  #  - the console is /dev/null (see boot_ns), so a getty on it fails with ENOTTY;
  #  - kernel modules belong to the host (and must not be loaded by a test box).
  for u in console-getty.service systemd-modules-load.service; do
    ln -sfn /dev/null "$r/etc/systemd/system/$u"
  done
  # Package lists and .debs are stale by the next run; `apt-get update` refetches them.
  rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"* 2>/dev/null || true
}

# Per-lab settings, written into each fresh root at boot, never cached.
configure_root() {
  local r=$1 name=$2 mirror=$3
  # apt inside the lab uses the host's mirror (the lab shares the host network).
  printf 'deb %s %s main\n' "$mirror" "$SUITE" >"$r/etc/apt/sources.list"
  rm -f "$r/etc/apt/sources.list.d/"*.sources
  cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
  echo "lab-$name" >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tlab-%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$name" >"$r/etc/hosts"
  # A machine id of its own; an empty one would start systemd-firstboot's console prompts.
  tr -d '-' </proc/sys/kernel/random/uuid >"$r/etc/machine-id"
}

# ---------------------------------------------------------------------- finding a lab

# Host PID of the lab's systemd: the process whose root is ROOT and which is PID 1 in its
# own PID namespace. Scanning /proc needs no pid file and cannot be fooled by PID reuse.
lab_pid() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$ROOT" ]] || continue
    if awk '/^NSpid:/ { exit !(NF > 2 && $NF == 1) }' "$p/status" 2>/dev/null; then
      echo "${p#/proc/}"; return 0
    fi
  done
  return 1
}

# Mount points at or under DIR in the host's mount namespace, deepest first.
mounts_under() {
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# ------------------------------------------------------------------------------ booting

# Step 1, in the background: give the lab a cgroup of its own, then create the namespaces.
# Without this, the lab's systemd would take the cgroup it starts in for its root: on
# this kind of host (no systemd, everything in the root cgroup) it created init.scope and
# system.slice at the host's cgroup roots, left the host's memory cgroup, and two labs
# would share one system.slice. So each lab gets STATE's cgroup with two children:
# "supervisor" for the unshare process outside, "payload" which becomes the root of the
# lab's cgroup namespace and is mounted as its /sys/fs/cgroup (unified, cgroup v2 only).
launch() {
  local name=$1 mirror=$2 template=$3
  lab_paths "$name"
  local unified cg=""
  unified=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
  if [[ -n $unified ]]; then
    if [[ -d /run/systemd/system && -z ${LAB_IN_SCOPE:-} ]] && command -v systemd-run >/dev/null; then
      # A systemd host: ask it for a delegated scope rather than write into its tree.
      LAB_IN_SCOPE=1 exec systemd-run --quiet --scope -p Delegate=yes --unit="molecule-lab-$name-$$" \
        "$BASH" "$SELF" __launch "$@"
    fi
    cg=$unified$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
    cg=${cg%/}
    [[ -n ${LAB_IN_SCOPE:-} ]] || cg=$cg/molecule-lab-$name
    mkdir -p "$cg/supervisor" "$cg/payload"
    echo $$ >"$cg/supervisor/cgroup.procs"
    # Hand the available controllers down to the payload (a no-op where v1 holds them).
    local c
    for c in $(cat "$cg/cgroup.controllers"); do echo "+$c" >"$cg/cgroup.subtree_control" 2>/dev/null || true; done
    echo "$cg" >"$STATE/cgroup"
  else
    echo "lab: warning: no cgroup v2 on this host; sharing the host's cgroup trees" >&2
  fi
  exec unshare --pid --fork --mount --uts --ipc --propagation private \
    "$BASH" "$SELF" __boot "$name" "$mirror" "$template" "$cg"
}

# Step 2: PID 1 of the new PID namespace, in the new (private) mount namespace. Set the
# root up the way a container manager would, then become systemd.
boot_ns() {
  local name=$1 mirror=$2 template=$3 cg=$4
  lab_paths "$name"
  local r=$ROOT
  # The root: a fresh overlayfs layer over the cached template. It is mounted only in
  # the lab's namespace, so on the host ROOT stays an empty directory and the lab's
  # changes sit in STATE/upper. An overlay is a mount point, which systemd requires.
  if ! mount -t overlay overlay -o "lowerdir=$template,upperdir=$STATE/upper,workdir=$STATE/work" "$r" 2>/dev/null; then
    echo "lab: overlayfs unavailable, copying the root instead" >&2
    cp -a "$template/." "$r/"
    mount --bind "$r" "$r"
  fi
  configure_root "$r" "$name" "$mirror"
  mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
  # /proc/sys and /sys read-only, as container managers do: otherwise the lab's
  # systemd-sysctl, udev and friends would change the host kernel's settings (the PID
  # namespace does not isolate those). systemd then skips them (ConditionPathIsReadWrite).
  mount --bind "$r/proc/sys" "$r/proc/sys"
  mount -o remount,bind,ro "$r/proc/sys"
  if [[ -e $r/proc/sysrq-trigger ]]; then mount --bind /dev/null "$r/proc/sysrq-trigger"; fi
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
  if [[ -n $cg ]]; then
    echo $$ >"$cg/payload/cgroup.procs"
    mount --bind "$cg/payload" "$r/sys/fs/cgroup"
  else
    mount --rbind /sys/fs/cgroup "$r/sys/fs/cgroup"
  fi
  mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$r/run"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/tmp"
  # A private /dev with the basic nodes only, so the lab cannot touch host devices, and
  # /dev/console is /dev/null so systemd's status output does not reach the host console.
  mount -t tmpfs -o mode=755,nosuid tmpfs "$r/dev"
  mknod -m 666 "$r/dev/null" c 1 3
  mknod -m 666 "$r/dev/zero" c 1 5
  mknod -m 666 "$r/dev/full" c 1 7
  mknod -m 666 "$r/dev/random" c 1 8
  mknod -m 666 "$r/dev/urandom" c 1 9
  mknod -m 666 "$r/dev/tty" c 5 0
  touch "$r/dev/console"
  mount --bind /dev/null "$r/dev/console"
  mkdir -m 755 "$r/dev/pts"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
  ln -s pts/ptmx "$r/dev/ptmx"
  mkdir -m 1777 "$r/dev/shm"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/dev/shm"
  ln -s /proc/self/fd "$r/dev/fd"
  ln -s /proc/self/fd/0 "$r/dev/stdin"
  ln -s /proc/self/fd/1 "$r/dev/stdout"
  ln -s /proc/self/fd/2 "$r/dev/stderr"
  # The cgroup namespace is created here, after moving into "payload", so that payload
  # is its root. container= tells systemd it is in a container (skips hardware units;
  # `systemd-detect-virt -c` answers yes). exec keeps this process PID 1.
  local cgns=()
  [[ -n $cg ]] && cgns=(unshare --cgroup)
  exec "${cgns[@]}" env -i container=molecule-lab PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
    chroot "$r" /lib/systemd/systemd --system
}

# nsenter into the lab's namespaces and root, with a clean environment. The cgroup
# namespace too when the lab has its own, so paths in /proc/*/cgroup match the lab's
# /sys/fs/cgroup.
enter() {
  local pid=$1 cgns=(); shift
  [[ $(readlink "/proc/$pid/ns/cgroup") != "$(readlink /proc/self/ns/cgroup)" ]] && cgns=(-C)
  nsenter -t "$pid" -p -m -u -i "${cgns[@]}" -r -w -- \
    /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
}

cmd_up() {
  local reuse=0 name=default
  while (($#)); do
    case $1 in
      --reuse) reuse=1 ;;
      -*) die "up: unknown option $1" ;;
      *) name=$1 ;;
    esac
    shift
  done
  need_root
  lab_paths "$name"
  local t0 pid; t0=$(now_ms)
  if pid=$(lab_pid); then
    ((reuse)) || die "lab '$name' is already running (pid $pid); use 'up --reuse $name' or 'down $name'"
    say "lab '$name' is already running (pid $pid), reusing it"
    echo "$pid"
    return 0
  fi
  # Leftovers of a crash or an interrupted down.
  [[ -e $STATE ]] && remove_state

  ensure_host_tools
  local mirror; mirror=$(host_mirror)
  ensure_template "$mirror"
  mkdir -p "$ROOT" "$STATE/upper" "$STATE/work"

  # setsid and redirections: the lab outlives this shell and its terminal.
  setsid "$BASH" "$SELF" __launch "$name" "$mirror" "$TEMPLATE" </dev/null >"$STATE/boot.log" 2>&1 &
  local launcher=$! deadline=$((SECONDS + LAB_BOOT_TIMEOUT)) state=""
  until pid=$(lab_pid); do
    if ((SECONDS >= deadline)) || ! kill -0 "$launcher" 2>/dev/null; then
      cat "$STATE/boot.log" >&2
      down_quiet
      die "systemd did not start in lab '$name' (boot log above)"
    fi
    sleep 0.1
  done
  while :; do
    state=$(enter "$pid" timeout 5 systemctl is-system-running 2>/dev/null) || true
    [[ $state == running || $state == degraded ]] && break
    if ((SECONDS >= deadline)) || ! kill -0 "$pid" 2>/dev/null; then
      say "system state after ${LAB_BOOT_TIMEOUT} s: ${state:-no answer}"
      enter "$pid" systemctl --no-pager list-jobs >&2 2>/dev/null || true
      enter "$pid" systemctl --no-pager --failed >&2 2>/dev/null || true
      tail -n 20 "$STATE/boot.log" >&2 || true
      down_quiet
      die "lab '$name' did not reach running or degraded within ${LAB_BOOT_TIMEOUT} s"
    fi
    sleep 0.2
  done
  if [[ $state == degraded ]]; then
    say "system is degraded; failed units:"
    enter "$pid" systemctl --no-pager --failed --plain --no-legend >&2 || true
  fi
  say "lab '$name' is $state: pid $pid, up took $(elapsed "$t0")"
  echo "$pid"
}

# ----------------------------------------------------------------------------- the rest

cmd_exec() {
  (($# >= 1)) || die "usage: lab.sh exec NAME -- CMD..."
  local name=$1; shift
  [[ ${1:-} == -- ]] && shift
  (($# >= 1)) || die "usage: lab.sh exec NAME -- CMD..."
  need_root
  lab_paths "$name"
  local pid; pid=$(lab_pid) || die "lab '$name' is not running"
  enter "$pid" "$@"
}

# Copy through a pipe into the lab's own mount namespace: the root, /tmp and /run are
# mounts the host does not see. A file goes to DEST (or DEST/basename when DEST is a
# directory or ends with /) and keeps its mode; a directory's contents go into DEST.
cmd_cp() {
  (($# == 3)) || die "usage: lab.sh cp NAME SRC DEST"
  local name=$1 src=$2 dest=$3
  need_root
  lab_paths "$name"
  [[ $dest == /* ]] || die "cp: DEST must be an absolute path inside the lab"
  [[ -e $src ]] || die "cp: no such file on the host: $src"
  local pid; pid=$(lab_pid) || die "lab '$name' is not running"
  if [[ -d $src ]]; then
    tar -C "$src" -cf - . | enter "$pid" sh -c 'mkdir -p "$1" && tar -C "$1" -xpf -' sh "$dest"
  else
    enter "$pid" sh -c '
      t=$1
      case $t in */) t=$t$2 ;; *) if [ -d "$t" ]; then t=$t/$2; fi ;; esac
      mkdir -p "$(dirname "$t")" && cat >"$t" && chmod "$3" "$t"' \
      sh "$dest" "$(basename "$src")" "$(stat -c %a "$src")" <"$src"
  fi
}

# Power systemd off, SIGKILL after 10 s. When PID 1 of a PID namespace dies the kernel
# kills everything else in it, and the private mount namespace goes with it.
stop_lab() {
  local pid i
  pid=$(lab_pid) || return 0
  kill -s RTMIN+4 "$pid" 2>/dev/null || true   # SIGRTMIN+4 asks systemd to power off
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "systemd did not power off within 10 s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  die "could not stop pid $pid"
}

# Remove the lab's cgroups, unmount whatever is still mounted under STATE on the host
# (normally nothing: the mounts live in the lab's namespace), then delete STATE.
remove_state() {
  local m cg="" i
  [[ -r $STATE/cgroup ]] && cg=$(<"$STATE/cgroup")
  if [[ -n $cg && -d $cg ]]; then
    # The unshare process may take a moment to exit after systemd.
    for ((i = 0; i < 50; i++)); do
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d $cg ]] || break
      sleep 0.1
    done
    [[ -d $cg ]] && say "warning: could not remove cgroup $cg"
  fi
  while read -r m; do
    [[ -n $m ]] || continue
    umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(mounts_under "$STATE")
  [[ -z $(mounts_under "$STATE") ]] || die "mounts remain under $STATE; not deleting it"
  # --one-file-system: never descend into anything still mounted.
  rm -rf --one-file-system "$STATE"
}

down_quiet() { stop_lab || true; remove_state || true; }

cmd_down() {
  (($# == 1)) || die "usage: lab.sh down NAME"
  need_root
  lab_paths "$1"
  if [[ ! -e $STATE ]] && ! lab_pid >/dev/null; then say "lab '$1' is not up"; return 0; fi
  local t0; t0=$(now_ms)
  stop_lab
  remove_state
  say "lab '$1' is down ($(elapsed "$t0"))"
}

# Exit status 0 when running, 3 when not (as `systemctl is-active` does).
status_one() {
  lab_paths "$1"
  local pid state
  if pid=$(lab_pid); then
    state=$(enter "$pid" timeout 5 systemctl is-system-running 2>/dev/null) || true
    printf '%-16s pid %-8s %s\n' "$1" "$pid" "${state:-unknown}"
  else
    printf '%-16s %s\n' "$1" stopped
    return 3
  fi
}

cmd_status() {
  need_root
  if (($# == 1)); then status_one "$1"; return; fi
  local d found=0
  for d in "$LAB_DIR"/*/; do
    [[ -d $d ]] || continue
    found=1
    status_one "$(basename "$d")" || true
  done
  ((found)) || echo "no labs under $LAB_DIR"
}

usage() { sed -n '7,11s/^# \{0,1\}//p' "$SELF" >&2; exit 2; }

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  cp) shift; cmd_cp "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  __launch) shift; launch "$@" ;;
  __boot) shift; boot_ns "$@" ;;
  *) usage ;;
esac
