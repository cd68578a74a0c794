#!/bin/bash
# Standard AutoAttack (APGD-CE, APGD-T, FAB-T, Square) on the shipped robust models, on one lent GPU.
#
# Same setup as scripts/gpu_train.sh (JAX, Keras from the wheels in .whl/, CIFAR-10 from .gpu/,
# or DATA=<a binary-layout folder>, e.g. only the first test records when the carry limit is tight).
# Each model runs `robustkeras eval --attack autoattack --version standard` on the first LIMIT
# test images, all three side by side; each keeps its resumable state in $OUT, so a run cut by
# the time limit comes back with the stages it finished and resumes from there on any machine.
#
# Usage (from the repository root): OUT=/some/folder LIMIT=1000 bash scripts/gpu_autoattack.sh
set -u
: "${OUT:?set OUT to the folder for results}"
mkdir -p "$OUT" || exit 1
start=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax ROBUSTKERAS_DATA=${DATA:-/tmp/cifar} PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.3  # three processes share the GPU
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
[ -n "${DATA:-}" ] || python3 .gpu/make_batches.py /tmp/cifar || exit 1
echo "setup took $(( $(date +%s) - start )) s"
left=$(( ${STOP_SECONDS:-500} - ($(date +%s) - start) ))
[ "$left" -gt 30 ] || { echo "setup used the time budget (STOP_SECONDS)"; exit 1; }  # timeout 0 would not stop
models=${MODELS:-fastnet_l2_robust resnet18_l2_robust mobilenetv2_l2_robust}
for model in $models; do
  timeout "$left" python3 -m robustkeras.cli eval --model "$model" --attack autoattack --version standard \
    --limit "${LIMIT:-1000}" --state "$OUT/$model.state.json" > "$OUT/$model.json" 2> "$OUT/$model.err" &
  pids="${pids:-} $!"
done
while [ -n "$(jobs -r)" ]; do
  sleep 20
  echo "t=$(( $(date +%s) - start )) s"
  for model in $models; do echo "  $model: $(tail -c 300 "$OUT/$model.err" | tr '\r' '\n' | tail -n1)"; done
done
failed=0
for pid in $pids; do wait "$pid" || failed=1; done
for model in $models; do echo "== $model"; cat "$OUT/$model.json"; tail -c 400 "$OUT/$model.err"; echo; done
echo "all done in $(( $(date +%s) - start )) s"
exit $failed
