#!/usr/bin/env bash
# Installs what the project needs on a machine that starts with only Node and npm:
# npm dependencies (bun and deno come from npm) and the real peers the end-to-end tests
# talk to (curl, openssl, haproxy, dnsmasq, dante, rsyslog, slapd, and chromium for the dashboard test, driven by playwright-core)
# from Debian's packages. Idempotent; quiet when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/bun ] || [ ! -x node_modules/.bin/deno ] || [ ! -d node_modules/valibot ]; then
  echo "setup: installing npm dependencies" >&2
  npm install --no-audit --no-fund
fi
# npm may skip install scripts it was not told to trust; make sure the binaries really run.
node_modules/.bin/bun --version >/dev/null 2>&1 || node node_modules/bun/install.js
node_modules/.bin/deno --version >/dev/null 2>&1 || node node_modules/deno/install.cjs

missing=()
for tool in curl openssl chromium; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# HAProxy (the load balancer in front of the PROXY protocol e2e test) lives in /usr/sbin
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
# dnsmasq (the real DNS server of the dns.servers e2e test): the binary alone, no service
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
# Dante (the real SOCKS5 server of the SOCKS parent e2e test); the tests run their own on loopback
command -v danted >/dev/null 2>&1 || [ -x /usr/sbin/danted ] || missing+=(dante-server)
# rsyslog and its GnuTLS driver (the real collector of the log.syslog e2e test; no service is started)
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
# OpenLDAP's slapd (the real directory of the proxyAuth.ldap e2e test; no service is started)
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || missing+=(slapd)
compgen -G "/usr/lib/*/rsyslog/lmnsd_gtls.so" >/dev/null || compgen -G "/usr/lib/rsyslog/lmnsd_gtls.so" >/dev/null || missing+=(rsyslog-gnutls)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} from Debian packages" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # RUNLEVEL=1: invoke-rc.d starts no service (the tests run their own haproxy, on loopback)
  $SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates
fi

# Optional: ip (iproute2) and iptables for the network-namespace e2e test, which reports itself
# skipped without them. Only as root or with passwordless sudo; never fails the setup.
netns_missing=()
for pair in ip:iproute2 iptables:iptables; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || [ -x "/sbin/${pair%%:*}" ] || netns_missing+=("${pair#*:}")
done
if [ ${#netns_missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if [ -z "$SUDO" ] || sudo -n true >/dev/null 2>&1; then
    echo "setup: installing ${netns_missing[*]} from Debian packages (network-namespace e2e test)" >&2
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${netns_missing[@]}"; } \
      || echo "setup: could not install ${netns_missing[*]}; the network-namespace e2e test will be skipped" >&2
  fi
fi
