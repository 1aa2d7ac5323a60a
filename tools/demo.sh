#!/usr/bin/env bash
# The main job, end to end: prune a PyTorch model and an ONNX model by half with the command-line tools,
# then check the pruned models against their masked originals (tools/check_demo.py).
#  1. torchvision DenseNet-121 (random weights): import -> prune (exact groups, random criterion) -> .pt2
#  2. the pretrained MiniLM sentence encoder as an ONNX file: import -> prune heads and FFN neurons to 70% of the
#     FLOPs with OBSPA, data-free (no calibration data, no fine-tuning) -> ONNX; and with L1 alone, to compare
set -euo pipefail
out=.demo
rm -rf "$out"
mkdir -p "$out"

echo "== 1. PyTorch: torchvision DenseNet-121 -> $out/densenet.mlir + .safetensors"
spa-translate --import-torch torchvision.models:densenet121 --input-shape 1,3,64,64 --seed 0 -o "$out/densenet.mlir"
echo "== prune half the channels of every exact group; the plan lists what goes"
spa-opt "$out/densenet.mlir" --prune-groups='ratio=0.5 criterion=random seed=1 only-exact=true' \
  --plan="$out/densenet.plan.json" -o "$out/densenet.pruned.mlir"
spa-translate --export-torch "$out/densenet.pruned.mlir" -o "$out/densenet.pruned.pt2"
spa-translate --export-torch "$out/densenet.mlir" -o "$out/densenet.pt2"  # unpruned, to compare speed

echo "== 2. ONNX: pretrained MiniLM sentence encoder -> $out/minilm.onnx -> $out/minilm.mlir"
python tools/demo_models.py minilm-onnx "$out/minilm.onnx"
spa-translate --import-onnx "$out/minilm.onnx" -o "$out/minilm.mlir"
echo "== prune heads and FFN neurons to 70% of the FLOPs: OBSPA with no data (synthetic inputs; weights refitted)"
spa-opt "$out/minilm.mlir" --prune-groups='keep-flops=0.7 criterion=obspa heads=true only-exact=true' \
  --plan="$out/minilm.plan.json" -o "$out/minilm.pruned.mlir"
spa-translate --export-onnx "$out/minilm.pruned.mlir" -o "$out/minilm.pruned.onnx"
echo "== the same target with L1 importance and plain removal, for comparison"
spa-opt "$out/minilm.mlir" --prune-groups='keep-flops=0.7 criterion=l1 heads=true only-exact=true' \
  --plan="$out/minilm.l1.plan.json" -o "$out/minilm.l1.pruned.mlir"
spa-translate --export-onnx "$out/minilm.l1.pruned.mlir" -o "$out/minilm.l1.pruned.onnx"

echo "== check the pruned models against the masked originals"
python tools/check_demo.py "$out"
