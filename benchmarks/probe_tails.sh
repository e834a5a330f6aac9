#!/bin/sh
# Per-request fsyncs/writes (strace) and instructions (callgrind) of one tree; see probe_tails.py.
# usage: probe_tails.sh strace|callgrind TREE DATADIR OUT [ENDPOINTS]   (ENDPOINTS: healthz,post,case_api,case_page)
set -e
mode=$1; tree=$2; data=$3; out=$4; eps=${5:-healthz,post,case_api,case_page}
here=$(cd "$(dirname "$0")" && pwd); py=${PYTHON:-/work/main/.venv/bin/python}
mkdir -p "$out"
if [ "$mode" = strace ]; then
  ONLY=$eps PYTHONHASHSEED=0 PYTHONPATH=$tree strace -f -qq -e trace=fsync,fdatasync,write,pwrite64,access \
    -o "$out/strace.txt" "$py" "$here/probe_tails.py" "$tree" "$data" > "$out/out.log" 2> "$out/err.log"
  "$py" "$here/probe_tails_count.py" "$out/strace.txt" "$out/err.log"
  exit 0
fi
ONLY=$eps CG=$out PYTHONHASHSEED=0 PYTHONPATH=$tree valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$out/cg.out.%p" "$py" "$here/probe_tails.py" "$tree" "$data" > "$out/out.log" 2> "$out/err.log" &
vpid=$!
for e in $(echo "$eps" | tr , ' '); do
  while [ ! -e "$out/ready-$e" ]; do sleep 0.5; kill -0 $vpid 2>/dev/null || { echo died; tail "$out/err.log"; exit 1; }; done
  callgrind_control -z $vpid >/dev/null; callgrind_control -i on $vpid >/dev/null; touch "$out/go-$e"
  while [ ! -e "$out/done-$e" ]; do sleep 0.5; done
  callgrind_control -i off $vpid >/dev/null; callgrind_control -d "$e" $vpid >/dev/null; touch "$out/next-$e"
done
wait $vpid
for f in "$out"/cg.out.*.*; do
  echo "$(grep -m1 '^desc: Trigger' "$f" | sed 's/.*dump //') $(grep -m1 '^totals:' "$f")"
done
grep n= "$out/err.log"
