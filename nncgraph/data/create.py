"""`dataset create`: a folder of class sub-folders -> an NNC image dataset.

Layout written at `out`:
    images/<class>/<name>.png   every readable image, W x H, gray or RGB
    train.csv [, valid.csv]     header `x:image,y:label`, paths relative
    labels.txt                  class names in label order
    report.json                 settings, counts per class and split, skipped files
Like the MNIST sample it is built in a hidden sibling folder and renamed into
place, so an interrupted run never leaves half a dataset.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nncgraph.atomic_files import make_staging_folder, os_error
from nncgraph.data.mnist_sample import _swap_in
from nncgraph.errors import Location, UserError

SOURCE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
MODES = ("trim", "pad", "resize")
_RESAMPLE = Image.Resampling.LANCZOS
_WIDE_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


# ---- one image (runs in a worker process, so module-level and picklable) ----

def _to_channels(img: Image.Image, channels: int) -> Image.Image:
    """Gray 'L' or 'RGB'; 16-bit scaled to 8, transparency composited on black."""
    if img.mode in _WIDE_MODES:
        arr = np.asarray(img, dtype=np.float64)
        # 16-bit keeps its full range (65535 -> 255); float images are 0..1 or 0..255.
        scale = (255.0 if arr.size and arr.max() <= 1.0 else 1.0) if img.mode == "F" else 1 / 257
        img = Image.fromarray(np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8), "L")
    if img.has_transparency_data:
        # Black, like the pad bands, so transparent areas and padding look alike.
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    target = "L" if channels == 1 else "RGB"
    if img.mode not in (target, "1", "L", "P", "RGB"):
        img = img.convert("RGB")    # CMYK, YCbCr, RGBA... have no direct path to 'L'
    return img if img.mode == target else img.convert(target)


def _fit(img: Image.Image, width: int, height: int, mode: str) -> Image.Image:
    if mode == "resize":
        return img.resize((width, height), _RESAMPLE)
    if mode == "trim":      # cover W x H, then cut the overhang off both sides
        return ImageOps.fit(img, (width, height), _RESAMPLE, centering=(0.5, 0.5))
    return ImageOps.pad(img, (width, height), _RESAMPLE, color=0, centering=(0.5, 0.5))


def _convert(job: tuple) -> Optional[str]:
    """Write one output PNG; None on success, else why the source was skipped."""
    src, dst, width, height, channels, mode = job
    try:
        with warnings.catch_warnings(), Image.open(src) as img:
            # Palette-transparency and large-image warnings would spam stderr per file.
            warnings.simplefilter("ignore")
            # JPEGs decode at 1/2..1/8 scale when still >= 2x the target: big photos get fast.
            side = 2 * max(width, height)
            img.draft(None, (side, side))
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:   # a broken EXIF block should not cost the image
                img.load()
            img = _fit(_to_channels(img, channels), width, height, mode)
    except UnidentifiedImageError:
        return "not a readable image: Pillow cannot identify its format"
    except Exception as exc:    # Pillow reports corrupt data with many exception types
        return f"corrupt image: {str(exc).rstrip('.') or type(exc).__name__}"
    img.save(dst, format="PNG")     # a failed write is no property of the source: raise
    return None


# ---- arguments and the source tree ----

def _parse_split(split: Union[str, int, Sequence[int]]) -> tuple[int, ...]:
    parts = split.split(",") if isinstance(split, str) else \
        [split] if isinstance(split, int) else list(split)
    fix = "give training and validation percentages, e.g. --split 90,10, or --split 100 for training only."
    try:
        pcts = tuple(int(str(p).strip()) for p in parts)
    except ValueError:
        raise UserError(f"--split must be whole percentages, got '{split}'.", fix=fix) from None
    if len(pcts) not in (1, 2) or min(pcts) < 1 or sum(pcts) != 100:
        raise UserError(f"--split needs one or two percentages of at least 1 summing to 100, "
                        f"got {','.join(map(str, pcts))}.", fix=fix)
    return pcts


def _split_sizes(n: int, pcts: tuple[int, ...]) -> tuple[int, ...]:
    if len(pcts) == 1:
        return (n,)
    n_valid = (2 * n * pcts[1] + 100) // 200    # round half up, no float surprises
    return (n - n_valid, n_valid)


def _check_split(counts: dict[str, int], pcts: tuple[int, ...], src: str, noun: str) -> None:
    for cls, n in counts.items():
        sizes = _split_sizes(n, pcts)
        if min(sizes) > 0:
            continue
        need = next(m for m in range(1, 201) if min(_split_sizes(m, pcts)) > 0)
        fits = [v for v in range(1, 100) if min(_split_sizes(n, (100 - v, v))) > 0]
        other = f"--split {100 - fits[0]},{fits[0]}, " if fits else ""
        raise UserError(
            f"with --split {','.join(map(str, pcts))}, class '{cls}' ({n} {noun}{'s' if n != 1 else ''}) "
            f"would have no {('training', 'validation')[sizes.index(0)]} sample.",
            location=Location(os.path.join(src, cls)),
            fix=f"add images to '{cls}' (this split needs at least {need} per class), use "
                f"{other}or --split 100 for training only.")


def _out_name(rel: str, used: set[str]) -> str:
    """A PNG name from the path inside the class folder, unique (also case-blind)."""
    stem, ext = os.path.splitext(rel.replace("/", "_"))
    for name in [stem, f"{stem}_{ext[1:]}"] + [f"{stem}_{k}" for k in range(2, len(used) + 3)]:
        if name.casefold() not in used:
            used.add(name.casefold())
            return name + ".png"
    raise AssertionError("unreachable: more candidates than used names")


def _scan(src: str) -> tuple[list[str], dict[str, list[tuple[str, str]]], list[dict]]:
    """Class names, (relative source path, output name) per class, and files skipped already."""
    entries = sorted(e for e in os.listdir(src) if not e.startswith("."))
    classes = [e for e in entries if os.path.isdir(os.path.join(src, e))]
    skipped = [{"file": e, "reason": "not inside a class sub-folder, so it has no label"}
               for e in entries if e not in classes]
    files: dict[str, list[tuple[str, str]]] = {}
    for cls in classes:
        used: set[str] = set()
        files[cls] = []
        top = os.path.join(src, cls)
        for folder, dirs, names in os.walk(top):
            # Hidden entries are OS or editor litter (.DS_Store, .ipynb_checkpoints).
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(n for n in names if not n.startswith(".")):
                rel = os.path.relpath(os.path.join(folder, name), top).replace(os.sep, "/")
                if os.path.splitext(name)[1].lower() in SOURCE_EXTENSIONS:
                    files[cls].append((rel, _out_name(rel, used)))
                else:
                    skipped.append({"file": f"{cls}/{rel}", "reason": "not an image file (extension "
                                    f"'{os.path.splitext(name)[1] or '(none)'}')"})
    return classes, files, skipped


def _check_out(src: str, out: str) -> bool:
    """True if `out` exists and may be replaced; never anything but our own output."""
    real_src, real_out = os.path.realpath(src), os.path.realpath(out)
    if os.path.commonpath([real_src, real_out]) in (real_src, real_out):
        raise UserError(f"the output folder '{out}' and the source folder '{src}' overlap.",
                        location=Location(out), fix="write the dataset outside the source folder.")
    if not os.path.lexists(out):
        return False
    if os.path.islink(out) or not os.path.isdir(out):
        state = "is a file, not a folder" if os.path.isfile(out) and not os.path.islink(out) else "is not a folder"
        raise UserError(f"output folder '{out}' {state}.", location=Location(out),
                        fix="choose another output folder or remove it.")
    if os.listdir(out) and not os.path.isfile(os.path.join(out, "report.json")):
        raise UserError(f"'{out}' already holds files and is not an earlier `dataset create` output "
                        f"(no report.json); refusing to replace it.", location=Location(out),
                        fix="choose a new or empty output folder, or delete this one.")
    return True


# ---- the whole dataset ----

def _run_jobs(jobs: list[tuple], workers: int, progress: bool) -> list[Optional[str]]:
    from tqdm import tqdm

    results: list[Optional[str]] = []
    with tqdm(total=len(jobs), unit="img", file=sys.stderr, disable=not progress) as bar:
        if workers == 1 or len(jobs) < 2:   # no pool: nothing to share, no start-up cost
            for job in jobs:
                results.append(_convert(job))
                bar.update()
            return results
        pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)))
        try:
            # Chunks amortise the per-task pickling; map() keeps results in job order.
            chunk = max(1, min(32, len(jobs) // (workers * 4)))
            for result in pool.map(_convert, jobs, chunksize=chunk):
                results.append(result)
                bar.update()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)   # no worker writes into a deleted folder
            raise
        pool.shutdown()
    return results


def _write_csv(path: str, rows: list[tuple[str, int]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")     # quotes class names holding commas
        writer.writerow(["x:image", "y:label"])
        writer.writerows(rows)


def _build(tmp: str, src: str, classes: list[str], files: dict, skipped: list[dict],
           settings: dict, pcts: tuple[int, ...], workers: int, progress: bool) -> dict:
    size = (settings["width"], settings["height"], settings["channels"], settings["mode"])
    jobs, owners = [], []
    for cls in classes:
        os.makedirs(os.path.join(tmp, "images", cls))
        for rel, name in files[cls]:
            jobs.append((os.path.join(src, cls, rel), os.path.join(tmp, "images", cls, name)) + size)
            owners.append((cls, rel, f"images/{cls}/{name}"))
    kept: dict[str, list[str]] = {cls: [] for cls in classes}
    for (cls, rel, out_rel), reason in zip(owners, _run_jobs(jobs, workers, progress)):
        if reason is None:
            kept[cls].append(out_rel)
        else:
            skipped.append({"file": f"{cls}/{rel}", "reason": reason})
    skipped.sort(key=lambda s: s["file"])
    for cls in classes:
        if not kept[cls]:
            why = "; ".join(f"{s['file']}: {s['reason']}" for s in skipped
                            if s["file"].startswith(cls + "/"))[:300]
            raise UserError(f"class '{cls}' has no readable image ({why or 'the folder is empty'}).",
                            location=Location(os.path.join(src, cls)),
                            fix=f"add {'/'.join(SOURCE_EXTENSIONS)} images to it or remove the folder.")
    _check_split({cls: len(kept[cls]) for cls in classes}, pcts, src, "readable image")

    rng = np.random.RandomState(settings["seed"])
    splits: list[list[tuple[str, int]]] = [[] for _ in pcts]
    counts = {}
    for label, cls in enumerate(classes):
        order = rng.permutation(len(kept[cls]))
        sizes = _split_sizes(len(kept[cls]), pcts)
        counts[cls] = dict(zip(("train", "valid"), sizes))
        for part, idx in zip(splits, np.split(order, np.cumsum(sizes)[:-1])):
            part.extend((kept[cls][i], label) for i in idx)
    for name, rows in zip(("train.csv", "valid.csv"), splits):
        # Mixed class order, so the first rows of a CSV are not all one class.
        _write_csv(os.path.join(tmp, name), [rows[i] for i in rng.permutation(len(rows))])
    with open(os.path.join(tmp, "labels.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(f"{cls}\n" for cls in classes))
    report = {"source": src, "settings": settings, "classes": classes, "counts": counts,
              "total": {k: sum(c[k] for c in counts.values()) for k in counts[classes[0]]},
              "skipped": skipped}
    with open(os.path.join(tmp, "report.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return report


def create_dataset(src: str, out: str, *, width: int, height: int, channels: int, mode: str,
                   split: Union[str, int, Sequence[int]], seed: int = 0,
                   workers: Optional[int] = None, progress: bool = False) -> dict:
    """Convert SRC/<class>/<images> into an NNC dataset at `out`; returns report.json's content."""
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise UserError(f"--{name} must be a whole number of pixels of at least 1, got {value}.",
                            fix=f"e.g. --{name} 64")
    if channels not in (1, 3):
        raise UserError(f"--channels must be 1 (gray) or 3 (RGB), got {channels}.", fix="--channels 1 or 3")
    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, got '{mode}'.", fix="e.g. --mode trim")
    if not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise UserError(f"--seed must be a whole number from 0 to {2 ** 32 - 1}, got {seed}.", fix="e.g. --seed 0")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}.", fix="e.g. --workers 4")
    pcts = _parse_split(split)
    src = os.path.abspath(os.fspath(src))
    out = os.path.abspath(os.fspath(out)).rstrip(os.sep) or os.sep
    if not os.path.isdir(src):
        state = "is not a folder" if os.path.exists(src) else "does not exist"
        raise UserError(f"source folder '{src}' {state}.", location=Location(src),
                        fix="give a folder holding one sub-folder of images per class.")
    exists = _check_out(src, out)
    try:
        classes, files, skipped = _scan(src)
    except OSError as exc:
        raise UserError(f"cannot read the source folder: {exc.strerror or exc} ({exc.filename}).",
                        location=Location(src), fix="check the folder's permissions.") from None
    if not classes:
        raise UserError(f"source folder '{src}' has no class sub-folders.", location=Location(src),
                        fix="put each class's images in its own sub-folder, e.g. SRC/cat/1.jpg, SRC/dog/1.jpg.")
    empty = [cls for cls in classes if not files[cls]]
    if empty:
        raise UserError(f"class '{empty[0]}' has no image file.", location=Location(os.path.join(src, empty[0])),
                        fix=f"add {'/'.join(SOURCE_EXTENSIONS)} images to it or remove the folder.")
    _check_split({cls: len(files[cls]) for cls in classes}, pcts, src, "image file")   # fail early

    settings = {"width": int(width), "height": int(height), "channels": int(channels), "mode": mode,
                "split": list(pcts), "seed": int(seed)}
    tmp = make_staging_folder(out)
    try:
        report = _build(tmp, src, classes, files, skipped, settings, pcts, workers, progress)
        _swap_in(tmp, out, exists)
    except BrokenProcessPool:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError("a worker process died while converting images (out of memory?).",
                        fix="try fewer --workers.") from None
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise os_error(exc, out, "write") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report
