"""Peak memory of ingest vs corpus size: ingest streams clips into a memory-mapped file, so its
peak resident memory should not grow with the number of clips.

Generates two embedded CREMA-D-form corpora (ppfer_core.synthetic.generate_cremad) of different
sizes, ingests each in a fresh subprocess, and prints per corpus: clips, output size, wall time
and the subprocess's peak RSS (getrusage ru_maxrss).

    python bench/ingest_memory.py                      # 120 and 480 clips, T=16 at 112x112
    python bench/ingest_memory.py --clips 120 960 --keep /tmp/bench

Peak RSS counts the pages of the memory-mapped outputs a process touched; ingest writes them back
and drops them every 32 MB (ppfer_core.ingest.store.release), so it is bounded by a few such chunks
plus the libraries, whatever the corpus size; peak anon is the heap alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, threading, time
from pathlib import Path
peak_anon, done = [0], [False]
def watch():  # peak anonymous memory (heap, not the memory-mapped files), sampled every 5 ms
    while not done[0]:
        with open("/proc/self/status") as f:
            for ln in f:
                if ln.startswith("RssAnon:"):
                    peak_anon[0] = max(peak_anon[0], int(ln.split()[1]))
        time.sleep(0.005)
threading.Thread(target=watch, daemon=True).start()
from ppfer_core.datasets import list_cremad
from ppfer_core.ingest import ingest
root, out, t, size, crop = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
t0 = time.perf_counter()
index = ingest(list_cremad(root), out, t=t, size=(size, size), crop=crop, on_error="fail", seed=0,
               test_fraction=0.3, log=lambda m: None)
seconds = time.perf_counter() - t0
done[0] = True
out_mb = sum(p.stat().st_size for p in out.glob("*.npy")) / 2**20
print(json.dumps(dict(clips=len(index), seconds=seconds, out_mb=out_mb,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      peak_anon_mb=peak_anon[0] / 1024)))
"""


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, nargs="+", default=[120, 480], help="corpus sizes (multiples of 12)")
    ap.add_argument("--frames", type=int, default=16, help="T frames per ingested clip")
    ap.add_argument("--size", type=int, default=112, help="ingested frame size")
    ap.add_argument("--source-size", type=int, default=64, help="generated frame size (multiple of 16)")
    ap.add_argument(
        "--source-frames", type=int, nargs=2, default=[20, 40], help="generated clip length range"
    )
    ap.add_argument("--crop", default="center", choices=["center", "none", "face"])
    ap.add_argument(
        "--keep", type=Path, default=None, help="work in this folder and keep it (default: a temp dir)"
    )
    return ap.parse_args()


def main() -> None:
    args = parse_args()

    from ppfer_core.synthetic import generate_cremad

    work = args.keep or Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    print(
        f"{'clips':>6} {'output MB':>10} {'generate s':>11} {'ingest s':>9} {'peak RSS MB':>12} {'peak anon MB':>13}"
    )
    for n in args.clips:
        if n % 12:
            raise SystemExit(f"--clips {n}: use a multiple of 12 (actors x 6 emotions x 2 clips per cell)")
        root = work / f"corpus-{n}"
        t0 = time.perf_counter()
        if not (root / "VideoFlash").is_dir():
            generate_cremad(
                root,
                n_actors=n // 12,
                clips_per_cell=2,
                n_frames=tuple(args.source_frames),
                size=args.source_size,
                fps=30,
                seed=0,
            )
        gen = time.perf_counter() - t0
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(root),
                str(work / f"out-{n}"),
                str(args.frames),
                str(args.size),
                args.crop,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(run.stdout.strip().splitlines()[-1])
        print(
            f"{r['clips']:>6} {r['out_mb']:>10.1f} {gen:>11.1f} {r['seconds']:>9.1f} {r['peak_rss_mb']:>12.0f}"
            f" {r['peak_anon_mb']:>13.0f}",
            flush=True,
        )
    if args.keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
