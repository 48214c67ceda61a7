#!/bin/sh
# Runs ci/k8s on the current kubectl context: the shared target, N shard
# pods of an Indexed Job starting together, then the merge Job; prints the
# merged verdicts and exits with the merged run's code.
#
#   ci/k8s/run.sh                  # RUN_ID from the clock, start in 90 s
#   RUN_ID=nightly-1 LEAD_SECONDS=120 ci/k8s/run.sh
#
# Needs GNU date and an image `somon-module-system:latest` the cluster can
# pull (docker build -f system/deploy/Dockerfile -t somon-module-system .).
set -eu
cd "$(dirname "$0")"
RUN_ID=${RUN_ID:-$(date -u +%Y%m%d-%H%M%S)}
LEAD_SECONDS=${LEAD_SECONDS:-90}

kubectl apply -f results.yaml -f scenario.yaml -f target.yaml
kubectl rollout status deployment/somon-verify-target --timeout=300s

# The shared start leaves the pods time to be scheduled and pull the image;
# a shard ready later starts at once and the merge aligns it on its clock.
START_AT=$(date -u -d "+${LEAD_SECONDS} seconds" +%Y-%m-%dT%H:%M:%SZ)
fill() { sed -e "s/__RUN_ID__/$RUN_ID/g" -e "s/__START_AT__/$START_AT/g" "$1"; }
echo "run $RUN_ID: shards start at $START_AT"
fill shards.yaml | kubectl apply -f -
if ! kubectl wait --for=condition=complete "job/somon-verify-shards-$RUN_ID" --timeout=60m; then
    echo "a shard failed: kubectl logs -l job-name=somon-verify-shards-$RUN_ID" >&2
    exit 3
fi

fill merge.yaml | kubectl apply -f -
kubectl wait --for=condition=complete "job/somon-verify-merge-$RUN_ID" --timeout=10m || true
kubectl logs "job/somon-verify-merge-$RUN_ID"
code=$(kubectl get pods -l "job-name=somon-verify-merge-$RUN_ID" \
    -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')
echo "merged report: /results/$RUN_ID/merged on volume somon-verify-results"
exit "${code:-3}"
