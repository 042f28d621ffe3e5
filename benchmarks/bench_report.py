"""What every benchmark records beside its figures: the machine, and an atomic JSON write."""
from __future__ import annotations

import datetime
import json
import os
import platform


def environment() -> dict:
    import nnabla
    import numpy as np
    import PIL

    return {
        "python": platform.python_version(),
        "nnabla": nnabla.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def write_report(path: str, report: dict) -> None:
    report = {**report, "environment": environment()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print(f"wrote {os.path.relpath(os.path.abspath(path))}")
