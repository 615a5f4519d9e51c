"""What the CPU can do fast, read at run time from /proc/cpuinfo (Linux; elsewhere: nothing)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

# Input shapes whose compiled kernels OpenVINO's CPU plugin keeps, per compiled model. Its
# default (5,000) let memory grow with every new (batch, length) shape: an embedder that read
# thousands of passages grew without bound, as would a long-running server's reader.
RUNTIME_CACHE_SHAPES = 64


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags; empty where /proc/cpuinfo cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_has_bf16() -> bool:
    """True when the CPU does bf16 matrix products natively (AMX or AVX-512 BF16)."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


def cpu_has_int8() -> bool:
    """True when the CPU has int8 dot-product instructions (VNNI or AMX)."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_flags())


def native_float_precision() -> str:
    """The fastest floating-point precision this CPU does natively: `bf16` or `fp32`."""
    return "bf16" if cpu_has_bf16() else "fp32"
