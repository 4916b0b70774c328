"""The ``ppfer`` console command (``[project.scripts]`` in pyproject.toml).

``ppfer anonymize INPUT... --bundle results/models/anonymizer.pt --out DIR`` anonymises a
person's own videos and photographs with the models the workflow trained; ``ppfer anonymize
--help`` is its manual.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROG = "ppfer"

DESCRIPTION = """\
Anonymise the faces in videos and photographs with a trained PPFER model bundle, keeping the
facial expression recognisable.

Every face is detected with the offline YuNet detector (the one of `ingest.crop: face`), on
every frame or every k-th frame with a smoothed track in between, several faces per frame.
Per face track the face box grown by the margin is cropped and resized to the model's crop
size, wavelet-split, passed through the privacy enhancers F_lpr / F_hpr, merged, passed
through the feature compensator F_fc, resized back and pasted into the frame with a feathered
mask - exactly what the workflow applies to its crops. A face too small to process gets the
fallback replacement; a frame without any face is blurred whole unless --no-face says
otherwise, so nothing passes through unanonymised by default.

Videos (any container FFmpeg reads: mp4, mov, avi, mkv, flv, webm, ...) become DIR/NAME.mp4
(H.264, the input's frame rate, the audio stream copied, or re-encoded to AAC when MP4 cannot
hold it); photographs (jpg, png, ...) keep their format. Each output gets DIR/NAME.json: the
face boxes per frame, the tracks, and the expression the bundle's utility model F_u predicts
for each track (label and probabilities). Outputs are written under temporary names and
renamed only on success, so a failed input leaves no partial file behind.
"""

EPILOG = """\
examples:
  ppfer anonymize clip.mp4 --out anonymized/
      anonymise one video with the bundle the workflow built (results/models/anonymizer.pt)
  ppfer anonymize recordings/ portrait.jpg --bundle my/anonymizer.pt --out out/
      every video and photograph in recordings/, and one photograph
  ppfer anonymize talk.mov --out out/ --detect-every 3 --thresh 0.5 --no-face keep
      detect on every third frame with a lower threshold; frames without a face stay as they are
  ppfer anonymize talk.mov --out out/ --method mosaic
      no model: pixelate every face (also: blur, solid)
  snakemake --cores all results/anonymized/talk.mp4
      the same through the workflow, for a video in anonymize/in/ (trains what it needs)

exit status:
  0  every input was anonymised
  1  at least one input failed (a one-line error names each; the others were still processed)
  2  usage error, or the bundle cannot be used
"""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30, width=100)


def _add_anonymize(sub) -> None:
    p = sub.add_parser(
        "anonymize",
        help="anonymise faces in videos and photographs",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_formatter,
    )
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="video or photograph files, or folders holding them (required)",
    )
    _add_model_options(p.add_argument_group("model"))
    _add_detection_options(p.add_argument_group("face detection and tracking"))
    _add_mask_options(p.add_argument_group("mask"))
    _add_output_options(p.add_argument_group("output"))
    p.set_defaults(run=run_anonymize)


def _add_model_options(g) -> None:
    g.add_argument(
        "--bundle",
        default="results/models/anonymizer.pt",
        metavar="PATH",
        help="model bundle written by the workflow (default: %(default)s)",
    )
    g.add_argument(
        "--method",
        metavar="NAME",
        help="method in the bundle (default: the bundle's first, 'ours'); "
        "or blur, solid, mosaic to replace faces without a model",
    )
    g.add_argument(
        "--list-methods", action="store_true", help="print the bundle's methods and settings, then exit"
    )
    g.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where the models run (default: %(default)s)",
    )
    g.add_argument(
        "--threads", type=int, metavar="N", help="CPU threads of the models (default: PyTorch's choice)"
    )


def _add_detection_options(g) -> None:
    g.add_argument(
        "--thresh",
        type=float,
        default=0.6,
        metavar="T",
        help="detector confidence needed for a face (default: %(default)s)",
    )
    g.add_argument(
        "--detect-every",
        type=int,
        default=1,
        metavar="K",
        help="run the detector on every K-th frame, tracks are interpolated between (default: %(default)s)",
    )
    g.add_argument(
        "--smooth",
        type=int,
        default=3,
        metavar="N",
        help="moving average over N detections of a track (default: %(default)s)",
    )


def _add_mask_options(g) -> None:
    m = g.add_mutually_exclusive_group()
    m.add_argument(
        "--margin",
        type=float,
        metavar="M",
        help="face box grown by M x its size on every side "
        "(default: the margin the bundle's models were trained with)",
    )
    m.add_argument(
        "--mask-scale",
        type=float,
        metavar="S",
        help="deface's equivalent: box scaled by S (margin = (S - 1) / 2)",
    )
    g.add_argument(
        "--feather",
        type=float,
        default=0.1,
        metavar="F",
        help="mask ramps to 0 over the outer F of the region (default: %(default)s)",
    )
    g.add_argument(
        "--min-face",
        type=float,
        default=16.0,
        metavar="PX",
        help="faces smaller than PX pixels get the fallback (default: %(default)s)",
    )
    g.add_argument(
        "--fallback",
        default="blur",
        choices=("blur", "solid", "mosaic"),
        help="replacement of a face the model cannot process (default: %(default)s)",
    )
    g.add_argument(
        "--no-face",
        default="blur",
        choices=("blur", "keep", "drop"),
        help="a frame without a face: blurred whole, kept, or left out (default: %(default)s)",
    )


def _add_output_options(g) -> None:
    g.add_argument("--out", metavar="DIR", help="output folder, created (required)")
    g.add_argument(
        "--crf",
        type=int,
        default=18,
        help="H.264 constant rate factor, lower = better (default: %(default)s)",
    )
    g.add_argument("--preset", default="veryfast", help="x264 preset (default: %(default)s)")
    g.add_argument(
        "--batch",
        type=int,
        default=16,
        metavar="N",
        help="frames whose faces go through the models at once (default: %(default)s)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def parser() -> argparse.ArgumentParser:
    """The ``ppfer`` argument parser."""
    p = argparse.ArgumentParser(
        prog=PROG, description="PPFER command-line tools.", formatter_class=_formatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_anonymize(sub)
    return p


def _error(msg: str) -> None:
    print(f"{PROG} anonymize: error: {msg}", file=sys.stderr, flush=True)


def _options(args):
    from ppfer_core.anonymize import Options
    from ppfer_core.training import select_device

    margin = args.margin if args.mask_scale is None else (args.mask_scale - 1.0) / 2.0
    return Options(
        method=args.method,
        threshold=args.thresh,
        detect_every=args.detect_every,
        smooth=args.smooth,
        margin=margin,
        feather=args.feather,
        min_face=args.min_face,
        fallback=args.fallback,
        no_face=args.no_face,
        batch=args.batch,
        crf=args.crf,
        preset=args.preset,
        device=str(select_device(args.device)),
    )


def _list_methods(bundle) -> int:
    print(f"{bundle.path}: methods {', '.join(bundle.methods)} (default {bundle.default_method})")
    print(f"settings: {bundle.settings}")
    return 0


def run_anonymize(args) -> int:
    """``ppfer anonymize``: process every input, one error line per failed input; exit status per --help."""
    from ppfer_core.anonymize import Anonymizer, BadInput
    from ppfer_core.anonymize.media import expand_inputs
    from ppfer_core.bundle import BundleError, load_bundle

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not args.list_methods and (not args.inputs or not args.out):
        _error("INPUT... and --out DIR are required (see ppfer anonymize --help)")
        return 2
    try:
        bundle = load_bundle(args.bundle)
        if args.list_methods:
            return _list_methods(bundle)
        anonymizer = Anonymizer(bundle, _options(args))
    except (BundleError, ValueError, ImportError, FileNotFoundError) as exc:
        _error(str(exc))
        return 2
    out_dir, t0 = Path(args.out), time.perf_counter()
    inputs = expand_inputs(args.inputs)
    if not inputs:
        _error(f"no video or photograph among {' '.join(args.inputs)}")
        return 1
    done, failed, frames, faces = 0, 0, 0, 0
    seen: dict[str, Path] = {}
    for path in inputs:
        if path.stem in seen:
            failed += 1
            _error(f"{path}: its outputs would overwrite those of {seen[path.stem]} (same name in {out_dir})")
            continue
        seen[path.stem] = path
        try:
            r = anonymizer.process(path, out_dir, progress=not args.quiet)
        except BadInput as exc:
            failed += 1
            _error(str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad input must not stop the batch
            failed += 1
            _error(f"{path}: {type(exc).__name__}: {exc}")
            continue
        done, frames, faces = done + 1, frames + r.frames, faces + r.faces
    seconds = time.perf_counter() - t0
    print(
        f"{PROG} anonymize: {done} of {len(inputs)} inputs anonymised into {out_dir}"
        f"{f' ({failed} failed)' if failed else ''}: {frames} frames, {faces} faces in {seconds:.1f} s "
        f"({frames / max(seconds, 1e-9):.1f} frames/s), method {anonymizer.method_name}",
        flush=True,
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ppfer`` console script."""
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
