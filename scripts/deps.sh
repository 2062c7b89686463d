#!/usr/bin/env bash
# Install the Debian 12 packages a job needs, if any are missing.
# Usage: scripts/deps.sh test|bench|stress|examples ...
set -euo pipefail

pkgs=(cmake gcc g++ make pkg-config libck-dev)
for job in "$@"; do
	case "$job" in
	test) pkgs+=(libcriterion-dev clang libclang-rt-14-dev) ;;
	stress) pkgs+=(clang libclang-rt-14-dev) ;;
	bench) pkgs+=(libbenchmark-dev python3 python3-matplotlib valgrind
		libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev dpdk-dev) ;;
	examples) pkgs+=(libsqlite3-dev libpq-dev postgresql) ;;
	*) echo "deps.sh: unknown job '$job'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (or install these packages) first" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
