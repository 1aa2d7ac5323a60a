#!/usr/bin/env bash
# The main job, end to end on a real model: import ResNet-18 from torchvision, round-trip the IR through
# spa-opt, emit .pt2 and ONNX, and check the emitted models against the original.
set -euo pipefail
out=.demo
mkdir -p "$out"
echo "== import torchvision resnet18 -> $out/r18.mlir + $out/r18.safetensors"
spa-translate --import-torch torchvision.models:resnet18 --input-shape 1,3,64,64 --seed 0 -o "$out/r18.mlir"
echo "== spa-opt round trip"
spa-opt "$out/r18.mlir" -o "$out/r18.opt.mlir"
echo "== emit .pt2, ONNX and torch-mlir text"
spa-translate --export-torch "$out/r18.mlir" -o "$out/r18.pt2"
spa-translate --export-onnx "$out/r18.mlir" -o "$out/r18.onnx"
spa-translate --export-torch-mlir "$out/r18.mlir" -o "$out/r18.torch.mlir"
echo "== re-import the ONNX file"
spa-translate --import-onnx "$out/r18.onnx" -o "$out/r18_onnx.mlir"
spa-translate --export-torch "$out/r18_onnx.mlir" -o "$out/r18_onnx.pt2"
python tools/check_demo.py "$out"
