"""The ``ppfer`` console command (``[project.scripts]`` in pyproject.toml).

``ppfer anonymize INPUT... --bundle results/models/anonymizer.pt --out DIR`` anonymises a
person's own videos and photographs with the models the workflow trained; ``ppfer anonymize
--help`` is its manual.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PROG = "ppfer"
DEFAULT_BUNDLE = "results/models/anonymizer.pt"

DESCRIPTION = """\
Anonymise the faces in videos and photographs with a trained PPFER model bundle, keeping the
facial expression recognisable.

Every face is detected with the offline YuNet detector (the one of `ingest.crop: face`), on
every frame or every k-th frame with a smoothed track in between, several faces per frame.
Per face track the face box grown by the margin is cropped and resized to the model's crop
size, wavelet-split, passed through the privacy enhancers F_lpr / F_hpr, merged, passed
through the feature compensator F_fc, resized back and pasted into the frame with a feathered
mask - exactly what the workflow applies to its crops. --method blur, solid or mosaic need
no model and no bundle (the margin is then 0.25 unless --margin says otherwise).

--method bottleneck (when the bundle holds it: anonymize.methods) keeps only the expression:
per face dlib's 68 landmarks, aligned, become a k-number code on the bundle's expression basis
(relative to the track's least expressive frames; a photograph: to the mean face), and the
face region is replaced by the bundle's template face - a synthetic face of nobody, rendered
by the project - warped to that code and pasted back with a feathered mask. Inside the mask
no source pixel remains, only the code and where the face sits. F_fc is not applied (it was
trained on the 64-px synthetic renders), and no expression label is written.

Nothing passes through unanonymised by default: a face the detector misses for a while keeps
its track's box (interpolated inside the track, held for --hold seconds before and after it),
whatever else the frame holds; a face too small to process gets the fallback replacement; a
frame without any face is blurred whole (--no-face); the audio, a voice, is left out (--audio);
a damaged video (a decoding error, or a stream ending before the duration its container
states, as a cut download does) fails instead of giving a shorter output (--on-error).

Videos (any container FFmpeg reads: mp4, mov, avi, mkv, flv, webm, ...) become DIR/NAME.mp4:
H.264 with every frame at the presentation time it had in the input (a variable frame rate
stays variable, and a frame --no-face drop leaves out leaves a gap, so a kept audio track stays
in sync), in the input's orientation (the rotation a phone records is applied before detection
and written back), and the same bytes for the same input and options (x264 without mb-tree).
Both passes over a video (detection, then anonymisation) must decode the same frames at the
same timestamps, else the input fails. Photographs (jpg, png, ...) keep their format. Each
output gets DIR/NAME.json: the face boxes per frame, the tracks, the expression the bundle's
utility model F_u predicts for each track (label and probabilities), and any damage. Outputs
are written under temporary names and renamed only on success, so a failed input leaves no
partial file behind. A progress bar per input (frames done / total, frames/s; --quiet: none)
and a summary end the run.
"""

EPILOG = """\
examples:
  ppfer anonymize clip.mp4 --out anonymized/
      anonymise one video with the bundle the workflow built (results/models/anonymizer.pt)
  ppfer anonymize recordings/ portrait.jpg --bundle my/anonymizer.pt --out out/
      every video and photograph in recordings/, and one photograph
  ppfer anonymize talk.mov --out out/ --detect-every 3 --thresh 0.5 --no-face keep
      detect on every third frame with a lower threshold; frames without a face stay as they are
  ppfer anonymize talk.mov photo.png --out out/ --method mosaic
      no model, no bundle: pixelate every face (also: blur, solid)
  ppfer anonymize talk.mov --out out/ --method bottleneck
      the same expression on the template face (a bundle built with bottleneck in anonymize.methods)
  ppfer anonymize talk.mov --out out/ --audio keep
      keep the sound track as it is (a warning: the voice is not anonymised)
  ppfer anonymize cut.mp4 --out out/ --on-error keep-partial
      a damaged video: anonymise what decodes, the sidecar lists the missing frames
  snakemake --cores all results/anonymized/talk.mp4
      the same through the workflow, for a video in anonymize/in/ (trains what it needs)

exit status:
  0  every input was anonymised
  1  at least one input failed (a one-line error names each, the summary repeats them; the
     others were still processed)
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
        metavar="PATH",
        help=f"model bundle written by the workflow (default: {DEFAULT_BUNDLE}; "
        "not read by --method blur/solid/mosaic unless given)",
    )
    g.add_argument(
        "--method",
        metavar="NAME",
        help="method in the bundle (default: the bundle's first, 'ours'; 'bottleneck' if packed); "
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
    g.add_argument(
        "--hold",
        type=float,
        default=1.0,
        metavar="S",
        help="a face the detector loses keeps its track's last box for S seconds before and after "
        "its detections, and a track re-found within S continues (default: %(default)s)",
    )


def _add_mask_options(g) -> None:
    m = g.add_mutually_exclusive_group()
    m.add_argument(
        "--margin",
        type=float,
        metavar="M",
        help="face box grown by M x its size on every side "
        "(default: the margin the bundle's models were trained with; without a bundle 0.25)",
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
        help="mask ramps to 0 over the outer F of the region (bottleneck: over F x the face's size, "
        "inside its outline) (default: %(default)s)",
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
    g.add_argument(
        "--audio",
        default="drop",
        choices=("drop", "keep"),
        help="the input's audio: left out, or kept as it is - the voice is NOT anonymised "
        "(default: %(default)s)",
    )
    g.add_argument(
        "--on-error",
        default="fail",
        choices=("fail", "keep-partial"),
        help="a damaged video (decoding error, stream shorter than its stated duration): the input "
        "fails, or what decoded is anonymised and the sidecar lists the missing frames "
        "(default: %(default)s)",
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
        hold=args.hold,
        margin=margin,
        feather=args.feather,
        min_face=args.min_face,
        fallback=args.fallback,
        no_face=args.no_face,
        audio=args.audio,
        on_error=args.on_error,
        batch=args.batch,
        crf=args.crf,
        preset=args.preset,
        device=str(select_device(args.device)),
    )


def _list_methods(bundle) -> int:
    print(f"{bundle.path}: methods {', '.join(bundle.methods)} (default {bundle.default_method})")
    for name in bundle.methods:
        print(f"  {name}: {bundle.describe(name)}")
    print(f"settings: {bundle.settings}")
    return 0


def _anonymizer(args):
    """The Anonymizer of the command line (None after --list-methods); BundleError, ValueError,
    ImportError or FileNotFoundError when it cannot be built."""
    from ppfer_core.anonymize import Anonymizer
    from ppfer_core.bundle import load_bundle

    options = _options(args)
    bundle = None
    if args.bundle is not None or options.needs_bundle or args.list_methods:
        bundle = load_bundle(args.bundle or DEFAULT_BUNDLE)
        if args.list_methods:
            _list_methods(bundle)
            return None
    return Anonymizer(bundle, options)


@dataclass
class _Summary:
    """What the run did, for the closing lines."""

    done: int = 0
    frames: int = 0
    faces: int = 0
    fallback_frames: int = 0
    no_face_frames: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)

    def add(self, r) -> None:
        self.done, self.frames, self.faces = self.done + 1, self.frames + r.frames, self.faces + r.faces
        self.fallback_frames += r.fallback_frames
        self.no_face_frames += r.no_face_frames

    def fail(self, path: Path, reason: str) -> None:
        self.failed.append((str(path), reason))
        _error(f"{path}: {reason}")

    def print(self, n_inputs: int, out_dir: Path, seconds: float, method: str) -> None:
        print(
            f"{PROG} anonymize: {self.done} of {n_inputs} inputs anonymised into {out_dir} "
            f"(method {method}), {len(self.failed)} failed; {self.frames} frames, {self.faces} faces, "
            f"{self.fallback_frames} frames with a face given the fallback, {self.no_face_frames} frames "
            f"without a face; {seconds:.1f} s ({self.frames / max(seconds, 1e-9):.1f} frames/s)",
            flush=True,
        )
        for name, reason in self.failed:
            print(f"  failed: {name}: {reason}", flush=True)


def run_anonymize(args) -> int:
    """``ppfer anonymize``: process every input, one error line per failed input; exit status per --help."""
    from ppfer_core.anonymize import BadInput
    from ppfer_core.anonymize.media import expand_inputs
    from ppfer_core.bundle import BundleError

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not args.list_methods and (not args.inputs or not args.out):
        _error("INPUT... and --out DIR are required (see ppfer anonymize --help)")
        return 2
    try:
        anonymizer = _anonymizer(args)
    except (BundleError, ValueError, ImportError, FileNotFoundError) as exc:
        _error(str(exc))
        return 2
    if anonymizer is None:
        return 0
    if args.audio == "keep":
        print(
            f"{PROG} anonymize: warning: --audio keep copies the sound track as it is: "
            "the voice is NOT anonymised",
            file=sys.stderr,
            flush=True,
        )
    out_dir, t0 = Path(args.out), time.perf_counter()
    inputs = expand_inputs(args.inputs)
    if not inputs:
        _error(f"no video or photograph among {' '.join(args.inputs)}")
        return 1
    summary = _Summary()
    seen: dict[str, Path] = {}
    for path in inputs:
        if path.stem in seen:
            summary.fail(
                path, f"its outputs would overwrite those of {seen[path.stem]} (same name in {out_dir})"
            )
            continue
        seen[path.stem] = path
        try:
            summary.add(anonymizer.process(path, out_dir, progress=not args.quiet))
        except BadInput as exc:
            summary.fail(path, exc.reason)
        except Exception as exc:  # noqa: BLE001 - one bad input must not stop the batch
            summary.fail(path, f"{type(exc).__name__}: {exc}")
    summary.print(len(inputs), out_dir, time.perf_counter() - t0, anonymizer.method_name)
    return 1 if summary.failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ppfer`` console script."""
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
