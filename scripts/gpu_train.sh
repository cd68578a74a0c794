#!/bin/bash
# Train the shipped MobileNetV2 and ResNet-18 side by side on one lent GPU, then evaluate each.
#
# The GPU machine has JAX but no TensorFlow and no network: it runs with KERAS_BACKEND=jax,
# Keras and its two missing dependencies come as wheels in .whl/, the CIFAR-10 tarball and
# its decoder in .gpu/. Each model gets the same wall-clock budget (scripts/train_in_budget.py
# picks the epoch count from a calibration fit); results and weights go to $OUT/<model>/.
#
# Usage (from the repository root): OUT=/some/folder TRAIN_MINUTES=6.5 bash scripts/gpu_train.sh
set -u
start=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax ROBUSTKERAS_DATA=/tmp/cifar PYTHONUNBUFFERED=1
# Two processes share the GPU: neither may take most of its memory up front.
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.42
export JAX_COMPILATION_CACHE_DIR=/tmp/jaxcache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import jax, keras, numpy; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'numpy', numpy.__version__)" \
  || exit 1
python3 .gpu/make_batches.py /tmp/cifar || exit 1
echo "setup took $(( $(date +%s) - start )) s"

minutes=${TRAIN_MINUTES:-6.5}
stop_after=${STOP_SECONDS:-540}  # the whole job ends here, evaluations cut short if need be
left=$(( stop_after - ($(date +%s) - start) ))
rm -rf /tmp/barrier  # a barrier left by an earlier run would let calibration start unshared
for arch in resnet18_cifar mobilenetv2_cifar; do
  mkdir -p "$OUT/$arch"
  timeout "$left" python3 scripts/train_in_budget.py --arch "$arch" --out "/tmp/runs/$arch" --export "$OUT/$arch" \
    --minutes "$minutes" --batch-size 512 --lr 0.2 --steps 2 --eval-every 2 \
    --barrier /tmp/barrier --peers 2 ${EXTRA_ARGS:-} \
    > "$OUT/$arch/log.txt" 2>&1 &
done
while [ -n "$(jobs -r)" ]; do
  sleep 30
  echo "t=$(( $(date +%s) - start )) s: $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>&1)"
  tail -qn1 "$OUT"/*/log.txt | cut -c1-300
done
wait
for arch in resnet18_cifar mobilenetv2_cifar; do echo "== $arch"; tail -n 25 "$OUT/$arch/log.txt"; done
echo "all done in $(( $(date +%s) - start )) s"
