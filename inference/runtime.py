"""ONNX Runtime session with the provider chosen at start.

onnxruntime-gpu logs errors when CUDA is requested on a machine without a usable GPU, so the
GPU is probed first (the CUDA driver API through ctypes: no torch in the worker).
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from config.log import get_logger
from inference.int8_weights import StorageChoice, load_for_host

log = get_logger(__name__)

ProviderChoice = Literal["auto", "cpu", "cuda"]
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def cuda_device_count() -> int:
    """Usable CUDA devices per the driver (0 when there is no driver or no device)."""
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            if lib.cuInit(0) != 0:
                return 0
            count = ctypes.c_int(0)
            if lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
            return int(count.value)
        except AttributeError:
            return 0
    return 0


def choose_providers(choice: ProviderChoice, available: list[str], gpus: int) -> list[str]:
    """Pure: which providers to request. ``cuda`` without a GPU is an error, not a fallback."""
    if choice == "cpu":
        return [CPU]
    usable = CUDA in available and gpus > 0
    if choice == "cuda":
        if not usable:
            raise RuntimeError(
                f"provider=cuda but CUDA is not usable (onnxruntime providers {available}, "
                f"GPUs found {gpus})"
            )
        return [CUDA, CPU]
    return [CUDA, CPU] if usable else [CPU]


class OnnxSession:
    """One InferenceSession; IO binding on CUDA so outputs come back in one copy."""

    def __init__(
        self,
        path: Path,
        *,
        provider: ProviderChoice = "auto",
        intra_op_threads: int = 0,
        inter_op_threads: int = 1,
        allow_spinning: bool = False,
        int8_weights: StorageChoice = "auto",
    ) -> None:
        import onnxruntime as ort

        available = list(ort.get_available_providers())
        gpus = cuda_device_count() if CUDA in available else 0
        providers = choose_providers(provider, available, gpus)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = inter_op_threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # Spinning worker threads steal CPU from the Faust event loop sharing the cores (and
        # measured ~20% slower on a shared 2-core host); off unless asked for.
        opts.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if allow_spinning else "0"
        )
        # The weights run as int8 where this CPU's u8 x s8 kernels are exact (and faster),
        # else as stored (uint8): the same numbers either way (inference/int8_weights.py).
        blob, self.int8_storage = load_for_host(Path(path), int8_weights)
        source = blob if blob is not None else str(path)
        self.session = ort.InferenceSession(source, opts, providers=providers)
        self.provider = self.session.get_providers()[0]
        self.input_names = [i.name for i in self.session.get_inputs()]
        log.info(
            "onnx.session",
            model=str(path),
            provider=self.provider,
            requested=providers,
            intra_op_threads=intra_op_threads,
            int8_weights=self.int8_storage,
        )

    def logits(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        inputs = {k: v for k, v in feeds.items() if k in self.input_names}
        if self.provider == CUDA:
            binding: Any = self.session.io_binding()
            for name, value in inputs.items():
                binding.bind_cpu_input(name, value)
            binding.bind_output("logits")
            self.session.run_with_iobinding(binding)
            return np.asarray(binding.copy_outputs_to_cpu()[0])
        return np.asarray(self.session.run(["logits"], inputs)[0])
