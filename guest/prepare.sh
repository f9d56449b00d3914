#!/usr/bin/env bash
# Prepare one guest kernel for bpfdiff: its qemu and cross compiler (Debian
# packages), the kernel pinned in guest/kernels.conf (apt-get download into a
# cache: Debian's archive is the only network used), the agent (static,
# cross-compiled) and the initramfs that runs it as /init.
#   guest/prepare.sh ARCH [OUTDIR]     ARCH: arm64 s390x ppc64le x86_64
# Writes OUTDIR/ARCH/{kernel,initramfs.cpio.gz,release}. Idempotent: the .deb
# stays in the cache (BPFDIFF_GUEST_CACHE, default OUTDIR/cache).
set -euo pipefail
arch=${1:?usage: guest/prepare.sh ARCH [OUTDIR]}
src=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$src/build/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cache=${BPFDIFF_GUEST_CACHE:-$out/cache}
kexec_c=${KEXEC_C:-$src/harness/kexec.c}
die() { echo "guest/prepare.sh $arch: $*" >&2; exit 1; }

line=$(awk -v a="$arch" '$1 == a' "$src/guest/kernels.conf")
[ -n "$line" ] || die "unknown arch (known: $(awk '!/^#/ && NF {printf "%s ", $1}' "$src/guest/kernels.conf"))"
read -r _ debarch pkg version <<<"$line"
override_var="BPFDIFF_GUEST_KERNEL_${arch}"
if [ -n "${!override_var:-}" ]; then
  pkg=${!override_var%%=*}
  version=$([[ ${!override_var} == *=* ]] && echo "${!override_var#*=}" || true)
fi

case $arch in
  arm64)   qemu=qemu-system-arm;  triplet=aarch64-linux-gnu;     libc=libc6-dev-arm64-cross ;;
  s390x)   qemu=qemu-system-misc; triplet=s390x-linux-gnu;       libc=libc6-dev-s390x-cross ;;
  ppc64le) qemu=qemu-system-ppc;  triplet=powerpc64le-linux-gnu; libc=libc6-dev-ppc64el-cross ;;
  x86_64)  qemu=qemu-system-x86;  triplet=x86_64-linux-gnu;      libc=libc6-dev-amd64-cross ;;
esac
need=("$qemu" cpio gzip binutils)
if [ "$(dpkg --print-architecture)" = "$debarch" ]; then
  cc=gcc; need+=(gcc libc6-dev)
else
  cc=$triplet-gcc; need+=("gcc-$triplet" "$libc")
fi

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
native=$(dpkg --print-architecture)
foreign=
if [ "$debarch" != "$native" ] && ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
  foreign=$debarch
fi
deb_glob="$cache/${pkg}_*_${debarch}.deb"
[ -n "$version" ] && deb_glob="$cache/${pkg}_${version//:/%3a}_${debarch}.deb"
# shellcheck disable=SC2086
have_deb=$(ls $deb_glob 2>/dev/null | head -1 || true)
if [ ${#missing[@]} -gt 0 ] || [ -n "$foreign" ] || [ -z "$have_deb" ]; then
  [ "$(id -u)" = 0 ] || [ -n "$have_deb" ] || die "need root to install ${missing[*]:-} / download $pkg"
fi
export DEBIAN_FRONTEND=noninteractive
updated=
if [ -n "$foreign" ]; then
  echo "guest/prepare.sh: dpkg --add-architecture $debarch" >&2
  dpkg --add-architecture "$debarch"
  apt-get update -qq >/dev/null; updated=1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "guest/prepare.sh: installing ${missing[*]}" >&2
  [ -n "$updated" ] || { apt-get update -qq >/dev/null; updated=1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The kernel package, once.
if [ -z "$have_deb" ]; then
  mkdir -p "$cache"
  spec="$pkg:$debarch"; [ -n "$version" ] && spec="$spec=$version"
  # apt-cache show ignores a missing version; madison lists the ones the archive serves.
  available() { apt-cache madison "$pkg:$debarch" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' |
                  grep -qx -- "${version:-.*}"; }
  if ! available && [ -z "$updated" ]; then
    apt-get update -qq >/dev/null; updated=1
  fi
  available ||
    die "Debian's archive has no $spec (pinned in guest/kernels.conf; override with $override_var=PACKAGE[=VERSION])"
  echo "guest/prepare.sh: apt-get download $spec" >&2
  (cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "$spec" >/dev/null)
  # shellcheck disable=SC2086
  have_deb=$(ls $deb_glob 2>/dev/null | head -1 || true)
  [ -n "$have_deb" ] || die "apt-get download $spec left no .deb in $cache"
fi

dir=$out/$arch
work=$dir/work
rm -rf "$work"
mkdir -p "$work/deb" "$work/root/modules"
# The kernel and the virtio-serial modules of this very build (they load
# unsigned from the initramfs; built-in ones are simply absent).
dpkg-deb --fsys-tarfile "$have_deb" |
  tar -x -C "$work/deb" --wildcards './boot/vmlinu*' './boot/config-*' './lib/modules/*/kernel/drivers/virtio/*' \
    './lib/modules/*/kernel/drivers/char/virtio_console.ko*' 2>/dev/null || true
kernel=$(ls "$work"/deb/boot/vmlinu* 2>/dev/null | head -1)
[ -n "$kernel" ] || die "$have_deb holds no /boot/vmlinu*"
release=$(basename "$kernel"); release=${release#vmlinu?-}
# Load order from each module's own depends= (no modules.dep in the package).
mods=$work/deb/lib/modules
add_module() {
  local f d
  grep -qx "$1.ko" "$work/root/modules/order" 2>/dev/null && return 0
  f=$(find "$mods" -name "$1.ko" 2>/dev/null | head -1)
  [ -n "$f" ] || return 0   # built in
  for d in $(strings -a "$f" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$d"; done
  cp "$f" "$work/root/modules/"
  echo "$1.ko" >>"$work/root/modules/order"
}
# s390x reaches virtio over its channel subsystem (virtio_ccw, built in).
[ "$arch" = s390x ] || add_module virtio_pci
add_module virtio_console

# The agent: static, the host kernel backend's own kexec.c.
"$cc" -static -Os -s -std=gnu11 -Wall -Wextra -Wno-format-truncation -D_GNU_SOURCE -I"$(dirname "$kexec_c")/.." -I"$src" \
  -o "$work/root/init" "$src/guest/agent.c" "$src/guest/proto.c" "$kexec_c" ||
  die "building the agent with $cc failed"

(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$work/initramfs.cpio.gz"
cp "$kernel" "$dir/kernel.tmp" && mv "$dir/kernel.tmp" "$dir/kernel"
mv "$work/initramfs.cpio.gz" "$dir/initramfs.cpio.gz"
echo "$release" >"$dir/release"
# Whether the kernel has a BPF JIT at all (Debian's s390x build has none).
if grep -qx 'CONFIG_BPF_JIT=y' "$work"/deb/boot/config-*; then echo y; else echo n; fi >"$dir/jit"
echo "$(basename "$have_deb")" >"$dir/package"
rm -rf "$work"
echo "guest $arch: kernel $release ($(basename "$have_deb")), initramfs $(stat -c %s "$dir/initramfs.cpio.gz") bytes" >&2
