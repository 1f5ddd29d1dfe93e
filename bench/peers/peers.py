#!/usr/bin/env python3
"""Peers of tqhash's benchmarks, on the same machine: what a user would pick instead.

  step    PyTorch: one training step of DSH's CIFAR-10 network exactly as src/nn/models.ts dshNet with batch norm
          (conv 5x5 pad 2, 32/32/64 channels, no conv bias, BN, ReLU, pools 3x3/2 pad 1 max/avg/avg, FC 1024->500 ReLU
          ->bits, tanh), batch-all TQL loss as src/cpu/tql.ts (form 'asym', m = m_q = max(bits/4, 6) as tqlDefaults, lambda = 1), Adam lr 1e-3;
          the same synthetic batch as bench/step.js (uniform [-1, 1) images, labels i % 10).
  search  FAISS IndexBinaryFlat: exact Hamming top-k of the same random codes as bench/search.js (its randomWords
          generator, reimplemented below), queries/s; with a digest of the distances so the caller can check that both
          engines found the same top-k distances.
  convs   PyTorch: each of that network's three convolutions alone at --batch, forward, backward-data and
          backward-weights, as autograd asks them of its library (oneDNN on a CPU, cuDNN on a GPU): the rows
          bench/kernels.js --peer sets beside its conv2d rows.

Prints one JSON object on stdout. Not a dependency of tqhash: bench/step.js and bench/search.js run it with --peer
where python3 has torch / faiss (Debian: apt-get install python3-torch python3-faiss), and say so where not.
Usage: /usr/bin/python3 bench/peers/peers.py {step,search,convs,all} [--device auto|cpu|cuda] [--batch 128] [--bits 48] [--steps 10] [--threads 2]
       [--n 1000000] [--q 1000] [--search-bits 64] [--k 100] [--seed 1] [--repeats 5] [--omp-wait PASSIVE]
"""
import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time


def median_ms(fn, warmup, repeats):
    """Median wall ms of `repeats` calls after `warmup`, the samples, and the median CPU ms of this process (all threads)."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(times), times, statistics.median(cpu)


# ---------------------------------------------------------------------------------------------------------------- step
def dsh_net(torch, bits):
    nn = torch.nn

    def stage(cin, cout, pool):
        return [nn.Conv2d(cin, cout, 5, padding=2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), pool]

    return nn.Sequential(
        *stage(3, 32, nn.MaxPool2d(3, stride=2, padding=1)),
        *stage(32, 32, nn.AvgPool2d(3, stride=2, padding=1)),  # count_include_pad=True, as src/cpu/pool.ts
        *stage(32, 64, nn.AvgPool2d(3, stride=2, padding=1)),
        nn.Flatten(),
        nn.Linear(1024, 500), nn.ReLU(), nn.Linear(500, bits), nn.Tanh(),
    )


def tql_loss(torch, f, labels, margin, margin_q, lam):
    """Batch-all TQL, form 'asym' (src/cpu/tql.ts): mean over active triplets of [d(fa,fp) - d(fa,fn) + m]+ +
    lam [d(fa,bp) - d(fa,bn) + m_q]+, b = sign(f) (sign(0) = +1) held constant; d = squared Euclidean distance;
    active = l > 0 (a constant in the gradient). Materialises the B^3 triplet tensor (B = 128: 2.1 M entries)."""
    b = torch.where(f >= 0, 1.0, -1.0).detach()
    d = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
    dq = ((f[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(len(labels), dtype=torch.bool)
    valid = pos[:, :, None] & ~same[:, None, :]
    zt = d[:, :, None] - d[:, None, :] + margin
    zq = dq[:, :, None] - dq[:, None, :] + margin_q
    l = (torch.relu(zt) + lam * torch.relu(zq)) * valid
    active = (l > 0).sum().clamp(min=1).detach()
    return l.sum() / active


def lcg_values(n, seed):
    """src/bench/util.ts randomValues: s = 1664525 s + 1013904223 mod 2^32, value s / 2^31 - 1."""
    import numpy as np
    out = np.empty(n, dtype=np.float64)
    s = (seed * 2654435761) % 2**32 or 1
    for i in range(n):
        s = (1664525 * s + 1013904223) % 2**32
        out[i] = s
    return out / 2147483648.0 - 1.0


def torch_device(torch, a):
    """'cuda' where asked, or with --device auto where PyTorch sees a GPU (fp32, TF32 off: tqhash computes in fp32); else 'cpu'."""
    if a.device == 'cuda' or (a.device == 'auto' and torch.cuda.is_available()):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        return 'cuda'
    return 'cpu'


def run_step(a):
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch_device(torch, a)
    net = dsh_net(torch, a.bits).to(dev)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    B = a.batch
    x = torch.from_numpy(lcg_values(B * 3 * 32 * 32, 1)).float().reshape(B, 3, 32, 32).to(dev)
    labels = (torch.arange(B) % 10).to(dev)
    m = max(a.bits / 4, 6)  # tqlDefaults (src/cpu/tql.ts)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = tql_loss(torch, net(x), labels, m, m, 1.0)
        loss.backward()
        opt.step()
        if dev == 'cuda':
            torch.cuda.synchronize()

    ms, samples, cpu_ms = median_ms(step, 2, a.steps)
    where = f'CUDA, {torch.cuda.get_device_name()}, fp32, TF32 off' if dev == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    return {
        'engine': f'PyTorch {torch.__version__} ({where})',
        'config': {'model': 'dshNet+bn', 'batch': B, 'bits': a.bits, 'loss': f'tql (asym, batch-all, m = m_q = max(k/4, 6) = {m:g}, λ = 1)',
                   'optimizer': 'Adam lr 1e-3', 'threads': torch.get_num_threads(), 'steps': a.steps},
        'step_ms': ms, 'step_ms_samples': samples, 'images_per_s': 1000 * B / ms, 'step_cpu_ms': cpu_ms,
    }


# --------------------------------------------------------------------------------------------------------------- convs
# dshNet's convolutions (src/bench/cases/conv.ts LAYERS): name, input channels, height = width, output channels; 5x5, pad 2.
CONV_LAYERS = (('conv1', 3, 32, 32), ('conv2', 32, 16, 32), ('conv3', 32, 8, 64))


def run_convs(a):
    """Median ms of each convolution pass alone. Backward-data asks autograd for the input's gradient only and
    backward-weights for the weight's only, so the library computes just that pass (convolution_backward's mask)."""
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch_device(torch, a)
    sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
    conv2d = torch.nn.functional.conv2d
    rows = []
    for name, cin, h, cout in CONV_LAYERS:
        x = torch.randn(a.batch, cin, h, h, device=dev, requires_grad=True)
        w = (0.2 * torch.randn(cout, cin, 5, 5, device=dev)).requires_grad_()
        y = conv2d(x, w, padding=2)
        dy = torch.randn_like(y)

        def fwd():
            with torch.no_grad():
                conv2d(x, w, padding=2)
            sync()

        def grad_of(t):
            def run():
                torch.autograd.grad(y, t, dy, retain_graph=True)
                sync()
            return run

        flop = 2 * a.batch * cout * h * h * cin * 25
        for pass_, fn in (('fwd', fwd), ('bwd-data', grad_of(x)), ('bwd-weights', grad_of(w))):
            ms, samples, cpu_ms = median_ms(fn, 3, a.steps)
            rows.append({'name': name, 'pass': pass_, 'batch': a.batch, 'shape': f'N{a.batch} {cin}->{cout} {h}x{h} k5',
                         'ms': ms, 'ms_samples': samples, 'cpu_ms': cpu_ms, 'gflops': flop / (ms * 1e6)})
    where = f'CUDA, {torch.cuda.get_device_name()}, fp32, TF32 off' if dev == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    return {'engine': f'PyTorch {torch.__version__} ({where})', 'config': {'batch': a.batch, 'threads': torch.get_num_threads(), 'repeats': a.steps},
            'rows': rows}


# -------------------------------------------------------------------------------------------------------------- search
def random_words(n, seed):
    """src/bench/util.ts randomWords (xorshift), bit for bit."""
    import numpy as np
    M = 0xFFFFFFFF
    a = (seed * 0x9E3779B9) & M or 1
    b = (0x6C078965 ^ seed) & M
    c = 0x2545F491
    d = (0x12345678 ^ (seed << 7)) & M
    out = np.empty(n, dtype=np.uint32)
    for i in range(n):
        t = a ^ ((a << 11) & M)
        a, b, c = b, c, d
        d = d ^ (d >> 19) ^ t ^ (t >> 8)
        out[i] = d
    return out


def search_codes(a):
    """The bench's random database and queries as packed bytes [n, bits/8] (bit i in byte i/8, bit i%8), and the generation ms."""
    import numpy as np
    W = (a.search_bits + 31) // 32
    if a.search_bits % 8:
        raise SystemExit(f'--search-bits {a.search_bits}: the peers take whole bytes (FAISS binary indexes need a multiple of 8 bits)')
    nbytes = a.search_bits // 8
    mask = 0xFFFFFFFF if a.search_bits % 32 == 0 else (1 << (a.search_bits % 32)) - 1

    def codes(n, seed):
        w = random_words(n * W, seed).reshape(n, W)
        w[:, W - 1] &= mask
        # tqhash packs bit i into word i / 32, bit i % 32; FAISS reads bytes with bit i in byte i / 8, bit i % 8:
        # the little-endian bytes of the words are the same bit order.
        return np.ascontiguousarray(w.astype('<u4').view(np.uint8)[:, :nbytes])

    t = time.perf_counter()
    db, q = codes(a.n, a.seed), codes(a.q, a.seed + 1000)
    return db, q, (time.perf_counter() - t) * 1000


def search_result(a, engine, ms, samples, cpu_ms, gen_ms, D):
    import numpy as np
    D = np.ascontiguousarray(np.asarray(D).astype('<u4'))
    return {
        'engine': engine,
        'config': {'n': a.n, 'q': a.q, 'bits': a.search_bits, 'k': a.k, 'seed': a.seed, 'threads': a.threads, 'repeats': a.repeats},
        'ms': ms, 'ms_samples': samples, 'qps': 1000 * a.q / ms, 'cpu_ms': cpu_ms, 'codes_generated_ms': gen_ms,
        # sha256 of the [q, k] distances as little-endian u32: equal to tqhash's iff both found the same top-k distances.
        'distances_sha256': hashlib.sha256(D.tobytes()).hexdigest(),
    }


def run_search_cuda(a, torch):
    """On a GPU: XOR of the packed bytes, popcount by a 256-entry table, sum, topk (the peer measured on the H200)."""
    db, q, gen_ms = search_codes(a)
    table = torch.tensor([bin(i).count('1') for i in range(256)], dtype=torch.int32, device='cuda')
    tdb = torch.from_numpy(db).cuda()
    tq_ = torch.from_numpy(q).cuda()
    result = {}
    chunk = max(1, (1 << 28) // max(1, a.n * db.shape[1]))  # queries per pass: at most 256 M byte lookups

    def search():
        Ds = []
        for s in range(0, a.q, chunk):
            x = torch.bitwise_xor(tq_[s:s + chunk, None, :], tdb[None, :, :]).long()
            d = table[x].sum(-1)
            Ds.append(torch.topk(d, a.k, dim=1, largest=False, sorted=True).values)
        result['D'] = torch.cat(Ds)
        torch.cuda.synchronize()

    ms, samples, cpu_ms = median_ms(search, 1, a.repeats)
    return search_result(a, f'PyTorch {torch.__version__} byte-table popcount + topk (CUDA, {torch.cuda.get_device_name()})', ms, samples, cpu_ms, gen_ms, result['D'].cpu().numpy())


def run_search(a):
    if a.device != 'cpu':
        try:
            import torch
            if torch_device(torch, a) == 'cuda':
                return run_search_cuda(a, torch)
        except ImportError:
            if a.device == 'cuda':
                raise
    import faiss
    import numpy as np
    faiss.omp_set_num_threads(a.threads)
    db, q, gen_ms = search_codes(a)
    index = faiss.IndexBinaryFlat(a.search_bits)
    index.add(db)
    result = {}

    def search():
        result['D'], result['I'] = index.search(q, a.k)

    ms, samples, cpu_ms = median_ms(search, 1, a.repeats)
    return search_result(a, f'FAISS {faiss.__version__} IndexBinaryFlat ({a.threads} threads)', ms, samples, cpu_ms, gen_ms, result['D'])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('what', choices=['step', 'search', 'convs', 'all'])
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--bits', type=int, default=48, help='code length of the training step')
    p.add_argument('--steps', type=int, default=10, help='timed steps after 2 warm-up steps (convs: timed calls of each pass after 3)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto',
                   help='auto: CUDA where PyTorch sees a GPU (step: PyTorch on the GPU; search: a PyTorch byte-table peer), else the CPU (search: FAISS)')
    p.add_argument('--n', type=int, default=1_000_000)
    p.add_argument('--q', type=int, default=1000)
    p.add_argument('--search-bits', type=int, default=64)
    p.add_argument('--k', type=int, default=100)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--repeats', type=int, default=5, help='timed searches after 1 warm-up')
    p.add_argument('--omp-wait', type=str.upper, choices=['ACTIVE', 'PASSIVE'], default=os.environ.get('OMP_WAIT_POLICY', 'PASSIVE').upper(),
                   help='OMP_WAIT_POLICY of torch / faiss (default PASSIVE unless set: on a shared 2-core machine the active '
                        'default spins against other processes and ran the peers 1.4-2.5x slower)')
    a = p.parse_args()
    # Read by libgomp when torch / faiss load (they are imported below, inside run_step / run_search).
    os.environ['OMP_WAIT_POLICY'] = a.omp_wait
    out = {'peers': 'bench/peers/peers.py', 'command': ' '.join([sys.executable] + sys.argv), 'python': platform.python_version(), 'machine': platform.machine(),
           'cpus': os.cpu_count(), 'omp_wait_policy': a.omp_wait, 'loadavg': list(os.getloadavg()), 'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
    missing = []
    for what, fn in (('step', run_step), ('search', run_search), ('convs', run_convs)):
        if a.what in (what, 'all'):
            try:
                out[what] = fn(a)
            except ImportError as e:
                missing.append(f'{what}: {e} (Debian: apt-get install python3-torch python3-faiss)')
    if missing:
        out['missing'] = missing
    out['loadavg_after'] = list(os.getloadavg())
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write('\n')
    return 3 if missing and not any(w in out for w in ('step', 'search', 'convs')) else 0


if __name__ == '__main__':
    sys.exit(main())
