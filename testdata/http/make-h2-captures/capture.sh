#!/bin/sh
# How the HTTP/2 and 100-continue captures of testdata/http were made, on
# Debian 12 (nginx 1.22.1, curl 7.88.1 with nghttp2, nghttp 1.52.0,
# Go 1.26, tshark 4.0.17), all on loopback. Run as root from this folder.
set -e
mkdir -p /tmp/h2cap/tmp && chmod -R a+rwx /tmp/h2cap/tmp
python3 gen-www.py && chmod 777 /tmp/h2cap/www/upload /tmp/h2cap/www/limited
openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/h2cap/key.pem -out /tmp/h2cap/cert.pem -days 3650 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1
nginx -c "$PWD/nginx.conf" -p /tmp/h2cap &                 # 8443 TLS h2, 8080 h2c prior knowledge, 8081 HTTP/1.1
(cd gosrv && go build -o /tmp/h2cap/gosrv . && /tmp/h2cap/gosrv &)   # 8082 HTTP/1.1, 8444 TLS h2 (net/http)
(cd h2csrv && go build -o /tmp/h2cap/h2csrv . && /tmp/h2cap/h2csrv &) # 8000 h2c by Upgrade (x/net/http2/h2c)
sleep 1
cd /tmp/h2cap
cap() { name=$1; filt=$2; shift 2
  dumpcap -q -P -i lo -f "$filt" -w "$name.pcap" & dp=$!
  sleep 1.5; "$@"; sleep 1; kill $dp; wait $dp || true; }

cap h2-tls-nginx-go-curl "tcp port 8443 or tcp port 8444" sh -c '
export SSLKEYLOGFILE=/tmp/h2cap/h2-tls-nginx-go-curl.keys
curl -sk --http2 --parallel --parallel-max 4 --compressed -o /dev/null https://localhost:8443/index.html -o /dev/null https://localhost:8443/data.json -o /dev/null https://localhost:8443/missing.html -o /dev/null https://localhost:8443/big.txt
curl -sk --http2 -X PUT --data-binary @upload.txt -o /dev/null https://localhost:8443/limited/x.txt
curl -sk --http2 -X POST -H "Expect: 100-continue" -H "Content-Type: text/plain" --data-binary @upload.txt -o /dev/null https://localhost:8444/submit'

cap h2c-prior-knowledge-nginx-nghttp-curl "tcp port 8080" sh -c '
nghttp -s -H "accept-encoding: gzip" http://127.0.0.1:8080/index.html http://127.0.0.1:8080/data.json http://127.0.0.1:8080/missing.html
curl -s --http2-prior-knowledge -X PUT --data-binary @upload.txt -H "Expect: 100-continue" -o /dev/null http://127.0.0.1:8080/upload/b.txt'

cap h2c-upgrade-go-curl "tcp port 8000" curl -s --http2 -o /dev/null http://127.0.0.1:8000/small.txt -o /dev/null http://127.0.0.1:8000/data.json

cap http-100-continue-go-nginx-curl "tcp port 8082 or tcp port 8081" sh -c '
curl -s -X POST -H "Expect: 100-continue" -H "Content-Type: text/plain" --data-binary @upload.txt -o /dev/null http://127.0.0.1:8082/submit -o /dev/null http://127.0.0.1:8082/submit
curl -s -X PUT --data-binary @upload.txt -H "Expect: 100-continue" -o /dev/null http://127.0.0.1:8081/upload/a.txt'

# tshark's references (README.md of testdata/http).
F="-e frame.number -e tcp.stream -e http2.streamid -e http2.type -e http2.flags -e http2.headers.method -e http2.headers.path -e http2.headers.authority -e http2.headers.status -e http2.header.name -e http2.header.value -e http2.rst_stream.error -e http2.goaway.error -e http2.goaway.last_stream_id"
tshark -r h2-tls-nginx-go-curl.pcap -o tls.keylog_file:h2-tls-nginx-go-curl.keys -Y http2 -T fields $F -E header=y -E aggregator='|' > h2-tls-nginx-go-curl.tshark.tsv
tshark -r h2c-prior-knowledge-nginx-nghttp-curl.pcap -d tcp.port==8080,http2 -Y http2 -T fields $F -E header=y -E aggregator='|' > h2c-prior-knowledge-nginx-nghttp-curl.tshark.tsv
tshark -r h2c-upgrade-go-curl.pcap -d tcp.port==8000,http -Y 'http or http2' -T fields -e http.request.method -e http.request.uri -e http.response.code $F -E header=y -E aggregator='|' > h2c-upgrade-go-curl.tshark.tsv
tshark -r http-100-continue-go-nginx-curl.pcap -d tcp.port==8082,http -d tcp.port==8081,http -Y http -T fields -e frame.number -e tcp.stream -e http.request.method -e http.request.uri -e http.response.code -e http.content_type -e http.content_length_header -E header=y > http-100-continue-go-nginx-curl.tshark.tsv
