#!/usr/bin/env bash
# One prepared run for a CUDA machine: the CUDA-marked tests, then the zoo
# benchmark on the GPU in fp32 (TF32), bf16 autocast, and torch.compile (slimtorch
# in its default channels-last against torchvision in NCHW and channels-last), printing images/s and achieved TFLOP/s against the card's peak.
#
#   bash scripts/gpu_check.sh [batch]        # from the repository root; needs torch with CUDA
#
# Needs only torch, torchvision, safetensors, numpy and pytest (slimtorch is
# used from this checkout through PYTHONPATH, nothing is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
BATCH="${1:-64}"
NETS="vgg_16,resnet_v1_50,inception_v3,mobilenet_v2"
PY="${PYTHON:-python3}"

"$PY" - <<'PY'
import torch, torchvision
assert torch.cuda.is_available(), "no CUDA device"
p = torch.cuda.get_device_properties(0)
print(f"{p.name}: {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs; "
      f"torch {torch.__version__}, torchvision {torchvision.__version__}")
PY

echo "== CUDA tests"
"$PY" -m pytest -q -m cuda -p no:cacheprovider tests/

echo "== zoo, fp32 (TF32 matmuls), eval + train"
"$PY" scripts/bench_zoo.py --device cuda --batch "$BATCH" --nets "$NETS" --repeats 20 --train
echo "== zoo, bf16 autocast, eval + train"
"$PY" scripts/bench_zoo.py --device cuda --batch "$BATCH" --nets "$NETS" --repeats 20 --train \
    --amp bf16
echo "== zoo, bf16 autocast + torch.compile, eval"
"$PY" scripts/bench_zoo.py --device cuda --batch "$BATCH" --nets "$NETS" --repeats 20 \
    --amp bf16 --compile
