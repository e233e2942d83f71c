# Sourced by the install scripts (bash): `install_missing_packages WHAT PACKAGE...` installs with
# apt-get those of the Debian packages that are not installed yet, and nothing when none is
# missing; WHAT follows "Installing Debian packages" in the one line it prints ("" for nothing).
install_missing_packages() {
  local what=$1 sudo="" p
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
  fi
  echo "Installing Debian packages${what}: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
