#!/bin/sh
# compare.sh [REF]: builds examples/dissect at git REF (default main) and
# in the working tree, runs both with -json on every capture of testdata/
# and of $SHARED (default ../shared: captures/ and public-captures/, when
# present), passing the key log NAME.keys and the SMB key file
# NAME.smbkeys found beside a capture, and counts the captures whose
# output is byte for byte the same. Run from the repository root; exits 1
# when an output differs.
set -eu
ref=${1:-main}
shared=${SHARED:-../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/old"
git archive "$ref" | tar -x -C "$tmp/old"
(cd "$tmp/old" && go build -o "$tmp/dissect-old" ./examples/dissect)
go build -o "$tmp/dissect-new" ./examples/dissect
dirs=testdata
for d in "$shared/captures" "$shared/public-captures"; do
	[ -d "$d" ] && dirs="$dirs $d"
done
same=0
differ=0
for f in $(find $dirs -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort); do
	b=${f%.*}
	set -- -json -quiet
	[ -f "$b.keys" ] && set -- "$@" -keylog "$b.keys"
	[ -f "$b.smbkeys" ] && set -- "$@" -smbkeys "$b.smbkeys"
	"$tmp/dissect-old" "$@" "$f" >"$tmp/old.json" 2>/dev/null || true
	"$tmp/dissect-new" "$@" "$f" >"$tmp/new.json" 2>/dev/null || true
	if cmp -s "$tmp/old.json" "$tmp/new.json"; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		echo "differs: $f"
	fi
done
echo "identical: $same, different: $differ"
[ "$differ" -eq 0 ]
