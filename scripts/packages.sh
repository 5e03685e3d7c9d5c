# Debian packages the project's commands need, and one way to install the missing ones.
# Sourced by ./test, ./demo and .ci/run; each names the packages it needs with its reasons.

# need_packages PKG…: installs those of PKG… that are missing (as root with apt-get), or, when
# not root, says in one line what to run and fails.
need_packages() {
  local missing=()
  local package
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing Debian packages ${missing[*]}: run \`sudo apt-get install ${missing[*]}\` and try again" >&2
    return 1
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What `cargo test --workspace` needs:
# - pkg-config, libssl-dev: the WebDriver client's TLS (OpenSSL; rustls would bring aws-lc);
# - libfontconfig1-dev: Slint's font lookup links fontconfig, in the UI tests too;
# - chromium, chromium-driver: the staff pages' browser tests (WebDriver);
# - fonts-wqy-microhei: the booth's CJK font (the UI screenshot tests compare every screen);
# - faketime: the booth clock-skew test; gdb: stacks of a hung process in a failing test.
TEST_PACKAGES=(pkg-config libssl-dev libfontconfig1-dev chromium chromium-driver fonts-wqy-microhei faketime gdb postgresql-client)

# The PostgreSQL store's tests need a server; `scripts/test-postgres` installs and starts
# Debian's when none is reachable on 127.0.0.1:5432.
POSTGRES_PACKAGES=(postgresql postgresql-client)

# What the demo's window needs beyond the tests: a virtual display when there is none (xvfb),
# and the libraries Slint's winit backend builds against and opens at run time.
DEMO_PACKAGES=(xvfb fonts-wqy-microhei pkg-config libfontconfig1-dev libxkbcommon-x11-0 libxcursor1 libx11-xcb1)

# What the lint of the optional features needs: libudev (hardware's `udev`), and the booth's
# window backends (winit for the demo, linuxkms with libinput for booths).
LINT_PACKAGES=(pkg-config libudev-dev libinput-dev libxkbcommon-dev libfontconfig1-dev)

# What `scripts/build-debs` needs: the booth build's libraries (LINT_PACKAGES' window backend
# and udev), binutils (objcopy, readelf: stripping, debug symbols apart) and dpkg-dev.
PACKAGE_BUILD_PACKAGES=(pkg-config libudev-dev libinput-dev libxkbcommon-dev libfontconfig1-dev binutils dpkg-dev)

# What `scripts/booth-image/build` and the booth VM tests need: mmdebstrap and e2fsprogs (the
# root and data file systems, no loop device), dosfstools and mtools (the EFI partition),
# fdisk (sfdisk: the partition table), grub-efi-amd64-bin (the boot loader of a real booth PC),
# qemu-system-x86 and qemu-utils (the VM and its copy-on-write disks), ovmf (UEFI firmware: the image boots as a PC would), socat (the
# VM's one way out, to the county server on loopback), zstd (the compressed image).
IMAGE_PACKAGES=(mmdebstrap e2fsprogs dosfstools mtools fdisk grub-efi-amd64-bin qemu-system-x86 qemu-utils ovmf socat zstd)
