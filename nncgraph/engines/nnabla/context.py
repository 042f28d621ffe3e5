"""nnabla compute context from the project's `context` section."""
from __future__ import annotations

import logging

from ...console import quiet_libraries
from ...errors import UserError
from ...project.model import ContextSpec


def quiet_nnabla_logging() -> None:
    """nnabla logs INFO lines on import and installs a root handler that makes
    other libraries' INFO lines (matplotlib's font cache) appear too; users read
    our output, not those (unless --verbose: see console.py)."""
    quiet_libraries()


def make_context(spec: ContextSpec):
    quiet_nnabla_logging()
    from nnabla.ext_utils import get_extension_context

    if spec.backend == "cpu":
        return get_extension_context("cpu", type_config=spec.precision)
    nnabla_log = logging.getLogger("nnabla")
    level = nnabla_log.level
    nnabla_log.setLevel(logging.CRITICAL)   # nnabla logs its own ERROR line; ours below says what to do
    try:
        return get_extension_context("cudnn", device_id=str(spec.device_id), type_config=spec.precision)
    except ImportError:
        raise UserError(
            "context 'cudnn' needs nnabla's CUDA extension, which is not installed.",
            fix="install the one matching your CUDA, e.g. `pip install nnabla-ext-cuda120` (CUDA 12) or "
                "`nnabla-ext-cuda116` (CUDA 11.6), on a machine with an NVIDIA GPU; or use --context cpu."
        ) from None
    except RuntimeError as exc:   # extension present but no usable device
        raise UserError(f"context 'cudnn' cannot use GPU {spec.device_id}: {exc}.",
                        fix="check the GPU and driver with nvidia-smi, or use --context cpu.") from None
    finally:
        nnabla_log.setLevel(level)
