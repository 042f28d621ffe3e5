"""`nncgraph dataset create`: argument parsing and the printed summary.

The work is in nncgraph.data.create; this module only maps options onto
create_dataset and prints one summary line plus one line per skipped file.
"""
from __future__ import annotations

import os
import sys

from .shared import display_path


def add_create_parser(dataset_subparsers):
    """Add `create` to the `dataset` sub-parsers (the object add_subparsers returned)."""
    p = dataset_subparsers.add_parser(
        "create", help="turn a folder of class sub-folders of images into an NNC dataset "
                       "(PNGs + train/valid CSVs, like NNC's dataset tool)")
    p.add_argument("source", metavar="SRC", help="folder with one sub-folder of images per class")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="dataset folder to write")
    p.add_argument("--width", type=int, required=True, metavar="W", help="output width in pixels")
    p.add_argument("--height", type=int, required=True, metavar="H", help="output height in pixels")
    p.add_argument("--channels", type=int, choices=(1, 3), required=True, help="1: grayscale; 3: RGB")
    p.add_argument("--mode", choices=("trim", "pad", "resize"), required=True,
                   help="trim: cover W x H and crop the centre; pad: fit inside and pad with black; "
                        "resize: stretch")
    p.add_argument("--split", required=True, metavar="TRAIN,VALID",
                   help="percentages per class, e.g. 90,10; 100 writes only train.csv")
    p.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    p.add_argument("--workers", type=int, metavar="N",
                   help=f"processes converting images (default: CPU count, {os.cpu_count()})")
    return p


def cmd_create(args) -> int:
    from ..data.create import create_dataset        # the API's nncgraph.create_dataset itself

    report = create_dataset(args.source, args.output, width=args.width, height=args.height,
                            channels=args.channels, mode=args.mode, split=args.split, seed=args.seed,
                            workers=args.workers, progress=sys.stderr.isatty())
    total = report["total"]
    splits = ", ".join(f"{n} {name}" for name, n in total.items())
    s = report["settings"]
    skipped = report["skipped"]
    print(f"wrote {sum(total.values())} images of {len(report['classes'])} classes "
          f"({splits}) as {s['width']}x{s['height']} {'gray' if s['channels'] == 1 else 'RGB'} "
          f"({s['mode']}) to {display_path(os.path.abspath(args.output))}; "
          f"{len(skipped)} file{'' if len(skipped) == 1 else 's'} skipped{':' if skipped else ''}")
    for item in skipped:
        print(f"  skipped {item['file']}: {item['reason']}")
    return 0

