// --device: where spa-collect-stats (and spa-obspa-compensate) run the model; cpu runs as without it (the unit test
// tests/unit/test_device.py compares the numbers). A device this machine lacks is a one-line error before any pass,
// and no output is written.
// RUN: %python -c "import torch; torch.manual_seed(0); torch.save({'inputs': torch.randn(6, 2, 2, 2), 'targets': torch.tensor([0, 1, 2, 0, 1, 2])}, '%t.pt')"
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad,in_sq}' --calib %t.pt --device cpu -o %t.cpu.mlir 2>&1 | filecheck %s --check-prefix=CPU
// CPU: spa-opt: calibrated on 6 samples of {{.*}}.pt (vmap over samples of a batch-1 capture, batches of 32; labels targets, loss cross-entropy): grad,in_count,in_sq,in_sum

// RUN: rm -f %t.gone.mlir
// RUN: not spa-opt %inputs/conv_bn_linear.mlir --prune-groups='criterion=obspa ratio=0.5' --calib %t.pt --device cuda:99 -o %t.gone.mlir 2>&1 | filecheck %s --check-prefix=CUDA
// CUDA: spa-opt: error: --device: 'cuda:99' asked, but {{CUDA is not available here|this machine has [0-9]+ CUDA device}}
// RUN: not ls %t.gone.mlir
