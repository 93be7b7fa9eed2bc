#!/bin/bash
# Development only: run the real Caffe (shared/caffe) on DIR/solver.prototxt as the oracle does and
# print the peak RSS in kB. Usage: bench/run_caffe.sh DIR [train|test ARGS...]
set -u
dir=$1; shift
cmd=${1:-train}; [ $# -gt 0 ] && shift
if [ "$cmd" = train ] && [ $# -eq 0 ]; then set -- -solver solver.prototxt; fi
(cd "$dir" && OPENBLAS_NUM_THREADS=1 GLOG_logtostderr=1 /usr/bin/time -v -o time.txt \
   bash /work/shared/caffe/oracle.sh caffe "$cmd" "$@" > caffe.log 2>&1)
rc=$?
kb=$(awk -F': ' '/Maximum resident/ {print $2}' "$dir/time.txt")
mem=$(grep -o 'Memory required for data: [0-9]*' "$dir/caffe.log" | awk '{print $5}' | tr '\n' ' ')
echo "$dir: exit $rc peak ${kb} kB; memory required for data: $mem"
