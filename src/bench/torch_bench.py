#!/usr/bin/python3
"""The PyTorch row of `npm run bench`: times the reference's own models (imported from peer.py by path,
not copied) the way src/bench/child.ts times leukoseg, and prints the same JSON after RESULT_MARKER.

    /usr/bin/python3 src/bench/torch_bench.py --peer ../shared/peers/pytorch/peer.py \
        --data "../shared/datasets/segmentation_WBC/Dataset 1" --model study-model-3 [--quick] [--memory-epochs N]
"""
import argparse
import importlib.util
import json
import os
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

RESULT_MARKER = "BENCH_RESULT "
SIZE = 128
# Mirrors FULL_COUNTS / QUICK_COUNTS of src/bench/common.ts.
FULL = dict(train_steps=20, train_warmup=3, b1_runs=50, b1_warmup=10, b32_runs=10, b32_warmup=3, epoch_images=20, batch=2)
QUICK = dict(train_steps=6, train_warmup=2, b1_runs=12, b1_warmup=3, b32_runs=3, b32_warmup=1, epoch_images=8, batch=2)
PEER_MODEL = {"study-model-3": "FCN3", "unet": "UNet"}


def load_peer(path):
    spec = importlib.util.spec_from_file_location("leukoseg_peer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_images(data_dir, count):
    """The first `count` pairs by id, as both projects prepare them: NEAREST to 128, image / 255, mask 0/128/255 -> 0/1/2."""
    ids = sorted(f[:-4] for f in os.listdir(data_dir) if f.lower().endswith(".bmp"))[:count]
    xs, ys = [], []
    for i in ids:
        img = Image.open(os.path.join(data_dir, i + ".bmp")).convert("RGB").resize((SIZE, SIZE), Image.NEAREST)
        msk = np.asarray(Image.open(os.path.join(data_dir, i + ".png")).resize((SIZE, SIZE), Image.NEAREST))
        xs.append((np.asarray(img, dtype=np.float32) / 255.0).transpose(2, 0, 1))
        ys.append(np.select([msk < 64, msk < 192], [0, 1], 2).astype(np.int64))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def time_runs(fn, batch, runs, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return {"msPerImage": statistics.median(ts) / batch, "bestMsPerImage": min(ts) / batch,
            "batch": batch, "runs": runs, "warmup": warmup}


def conv_flops(model, x1):
    """Per-image FLOPs of the convolutions, as src/bench/flops.ts counts leukoseg's: forward (2 x multiply-adds), and
    training = forward + weight gradient + input gradient, but not where the conv reads the image (not trained)."""
    work = []

    def hook(module, inputs, output):
        cin, cout = module.in_channels // module.groups, module.out_channels
        kh, kw = module.kernel_size
        # Conv2d: every output position; ConvTranspose2d: every input position.
        positions = output.shape[2] * output.shape[3] if isinstance(module, torch.nn.Conv2d) else inputs[0].shape[2] * inputs[0].shape[3]
        work.append((2 * positions * kh * kw * cin * cout, inputs[0] is x1))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    model.eval()
    with torch.no_grad():
        model(x1)
    for h in handles:
        h.remove()
    forward = sum(f for f, _ in work)
    return {"forward": forward, "training": 2 * forward + sum(f for f, reads_image in work if not reads_image)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", choices=sorted(PEER_MODEL), required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--memory-epochs", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    # The row it reports as: run.ts sets OMP_WAIT_POLICY=PASSIVE for "pytorch", nothing for "pytorch-spin".
    ap.add_argument("--engine", choices=["pytorch", "pytorch-spin"], default="pytorch")
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    c = QUICK if args.quick else FULL
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    peer = load_peer(args.peer)
    x, y = load_images(args.data, max(32, c["epoch_images"], c["batch"]))
    model = getattr(peer, PEER_MODEL[args.model])()
    peer.keras_init(model)
    kernels = peer.conv_kernels(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    n = len(x)
    step = {"i": 0}

    def train_step():
        # The reference's training step: cross-entropy on logits + Keras-style L2 on conv kernels, Adam.
        idx = torch.tensor([(step["i"] * c["batch"] + k) % n for k in range(c["batch"])])
        step["i"] += 1
        model.train()
        loss = F.cross_entropy(model(x[idx]), y[idx]) + 1e-3 * sum((w * w).sum() for w in kernels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def infer(xb):
        def run():
            model.eval()
            with torch.no_grad():
                torch.softmax(model(xb), 1)
        return run

    x1, x32 = x[:1].contiguous(), x[:32].contiguous()
    flops = conv_flops(model, x1)
    train = time_runs(train_step, c["batch"], c["train_steps"], c["train_warmup"])
    b1 = time_runs(infer(x1), 1, c["b1_runs"], c["b1_warmup"])
    b32 = time_runs(infer(x32), 32, c["b32_runs"], c["b32_warmup"])
    memory = None
    if args.memory_epochs > 0:
        memory = []
        steps = -(-c["epoch_images"] // c["batch"])
        for epoch in range(1, args.memory_epochs + 1):
            t0 = time.perf_counter()
            for _ in range(steps):
                train_step()
            infer(x[:8])()
            memory.append({"epoch": epoch, "rssMiB": rss_mib(), "seconds": time.perf_counter() - t0})
    result = {
        "engine": args.engine, "model": args.model, "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()), "flops": flops,
        "train": train, "inferB1": b1, "inferB32": b32,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "memory": memory, "load": {"start": load_start, "end": os.getloadavg()[0]},
        "notes": [f"torch {torch.__version__}, the reference's {PEER_MODEL[args.model]} from peer.py, "
                  f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}"],
    }
    print(RESULT_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
