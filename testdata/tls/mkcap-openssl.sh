#!/bin/sh
# Makes the *-openssl captures of this folder (OpenSSL 3.0 s_client and
# s_server -www over loopback, captured with dumpcap) with their key logs.
# Usage: mkcap-openssl.sh OUTDIR. Needs openssl, dumpcap and editcap
# (tshark's package). The references beside each capture come from
# tshark-refs.sh.
set -eu
out=${1:?usage: mkcap-openssl.sh OUTDIR}
mkdir -p "$out"
cd "$out"
# An RSA certificate with DNS, IP and CN names, and an ECDSA one with a
# subject CN only.
[ -f rsa.key ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 3650 \
	-subj "/O=nettrace test/CN=rsa.nettrace.test" \
	-addext "subjectAltName=DNS:rsa.nettrace.test,DNS:www.nettrace.test,IP:127.0.0.1,IP:::1" 2>/dev/null
[ -f ec.key ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.crt \
	-days 3650 -subj "/O=nettrace test/CN=ecdsa.nettrace.test" 2>/dev/null
port=44300
# cap NAME 'SERVER ARGS' 'CLIENT ARGS'
cap() {
	name=$1 sargs=$2 cargs=$3
	port=$((port + 1))
	rm -f "$name.keys" "$name.pcapng"
	dumpcap -q -i lo -f "tcp port $port" -w "$name.pcapng" 2>/dev/null &
	dc=$!
	sleep 1
	# shellcheck disable=SC2086
	openssl s_server -accept "127.0.0.1:$port" -www -naccept 1 $sargs >/dev/null 2>&1 &
	sv=$!
	sleep 0.5
	# shellcheck disable=SC2086
	printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' |
		openssl s_client -connect "127.0.0.1:$port" -keylogfile "$name.keys" -ign_eof $cargs >/dev/null 2>&1 || true
	wait "$sv" || true
	sleep 0.5
	kill "$dc"
	wait "$dc" || true
	editcap -F pcap "$name.pcapng" "$name.pcap"
	rm -f "$name.pcapng"
	sed -i '/^#/d' "$name.keys"
}
rsa="-cert rsa.crt -key rsa.key"
ec="-cert ec.crt -key ec.key"
cap tls13-aes128ccm-openssl "$rsa -ciphersuites TLS_AES_128_CCM_SHA256" "-servername rsa.nettrace.test -ciphersuites TLS_AES_128_CCM_SHA256"
cap tls13-aes128ccm8-openssl "$rsa -ciphersuites TLS_AES_128_CCM_8_SHA256" "-noservername -ciphersuites TLS_AES_128_CCM_8_SHA256"
cap tls12-rsa-aes128ccm-openssl "$rsa -cipher AES128-CCM" "-tls1_2 -servername rsa.nettrace.test -cipher AES128-CCM"
cap tls12-rsa-aes128ccm8-openssl "$rsa -cipher AES128-CCM8" "-tls1_2 -servername rsa.nettrace.test -cipher AES128-CCM8"
cap tls12-ecdhe-ecdsa-aes128ccm-openssl "$ec -cipher ECDHE-ECDSA-AES128-CCM" "-tls1_2 -servername ecdsa.nettrace.test -cipher ECDHE-ECDSA-AES128-CCM"
cap tls12-ecdhe-ecdsa-aes128ccm8-openssl "$ec -cipher ECDHE-ECDSA-AES128-CCM8" "-tls1_2 -noservername -cipher ECDHE-ECDSA-AES128-CCM8"
cap tls12-adh-aes128-sha256-openssl "-nocert -cipher ADH-AES128-SHA256:@SECLEVEL=0" "-tls1_2 -noservername -cipher ADH-AES128-SHA256:@SECLEVEL=0"
cap tls12-adh-aes128gcm-openssl "-nocert -cipher ADH-AES128-GCM-SHA256:@SECLEVEL=0" "-tls1_2 -noservername -cipher ADH-AES128-GCM-SHA256:@SECLEVEL=0"
cap tls12-aecdh-aes128-sha-openssl "-nocert -cipher AECDH-AES128-SHA:@SECLEVEL=0" "-tls1_2 -noservername -cipher AECDH-AES128-SHA:@SECLEVEL=0"
# A suite nettrace does not decrypt (Camellia: not in Go's crypto).
cap tls12-ecdhe-rsa-camellia128-openssl "$rsa -cipher ECDHE-RSA-CAMELLIA128-SHA256" "-tls1_2 -servername rsa.nettrace.test -cipher ECDHE-RSA-CAMELLIA128-SHA256"
