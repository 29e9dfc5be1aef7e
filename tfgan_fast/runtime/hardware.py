"""The host CPU as speed figures need it: model, vector flags, cores, clock and peak FLOP/s.

Every speed figure names its host (CPUs of the same family differ by 30% on one iteration), so
`tools/benchmark_speed.py` prints `describe(parse_cpuinfo(...))` with its tables. The peak is
`cores x clock x FLOP per cycle per core`, with these per-cycle throughputs:

* float32, AVX-512: 16 lanes x 2 (a fused multiply-add) = 32 FLOP per cycle per 512-bit FMA
  unit; `fma_units` of them per core (2 on Intel Xeon Gold / Platinum since Skylake-SP and on
  AMD Zen 5; Zen 4 executes a 512-bit FMA as two 256-bit halves, i.e. 1 unit). AVX2 only: 16.
* bfloat16, AVX512_BF16: `VDPBF16PS` multiplies 32 bfloat16 pairs and accumulates into 16
  float32 lanes: 64 FLOP per cycle per unit, twice float32.
* bfloat16, AMX-BF16 (Intel Sapphire Rapids and later): 1024 FLOP per cycle per core (Intel's
  Architecture Day 2021 figure: 1024 bfloat16 operations per cycle, against 64 float32 for
  AVX-512 with two FMA units).

The clock is `/proc/cpuinfo`'s "cpu MHz" (the current frequency of the first CPU listed; under a
hypervisor usually the nominal one): pass another with `clock_ghz` for turbo or all-core figures.
"""

import collections
import os

# The flags that decide a convolution's speed, in the order they are printed.
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
FMA_FLOPS_PER_LANE = 2
AVX512_FP32_LANES = 16
AVX2_FP32_LANES = 8
AMX_BF16_FLOPS_PER_CYCLE = 1024

# Published GPU figures (see tools/scaling_estimate.py): peak FLOP/s (bfloat16 dense; V100: fp16
# tensor cores), NVLink bytes/s per direction, inter-node bytes/s per GPU.
GPUS = {
    "a100": (312e12, 300e9, 25e9),
    "h100": (989e12, 450e9, 50e9),
    "v100": (125e12, 150e9, 12.5e9),
}

CpuInfo = collections.namedtuple("CpuInfo", ["model", "flags", "logical", "cores", "mhz"])


def parse_cpuinfo(text):
    """A `CpuInfo` from the text of Linux's `/proc/cpuinfo`.

    `flags` are the `SPEED_FLAGS` the first CPU reports; `logical` counts the "processor"
    entries; `cores` the distinct (physical id, core id) pairs (SMT siblings share a core), or
    `logical` where those fields are missing; `mhz` is the first "cpu MHz" (None if absent).
    """
    model, flags, mhz = None, None, None
    logical, pairs = 0, set()
    physical = core = None
    for line in text.splitlines() + [""]:
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not key:  # a blank line ends one processor's block
            if physical is not None and core is not None:
                pairs.add((physical, core))
            physical = core = None
            continue
        if key == "processor":
            logical += 1
        elif key == "model name" and model is None:
            model = value
        elif key == "flags" and flags is None:
            present = set(value.split())
            flags = tuple(f for f in SPEED_FLAGS if f in present)
        elif key == "cpu MHz" and mhz is None:
            mhz = float(value)
        elif key == "physical id":
            physical = value
        elif key == "core id":
            core = value
    return CpuInfo(model or "unknown CPU", flags or (), logical, len(pairs) or logical, mhz)


def read_cpuinfo(path="/proc/cpuinfo"):
    """`parse_cpuinfo` of `path`; None where it does not exist (not Linux)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_cpuinfo(f.read())
    except OSError:
        return None


def describe(info):
    """One line: model, cores, clock and which speed flags are present or absent."""
    if info is None:
        return "CPU: unknown (no /proc/cpuinfo)"
    flags = " ".join(f if f in info.flags else f"no-{f}" for f in SPEED_FLAGS)
    clock = f"{info.mhz / 1000:.2f} GHz" if info.mhz else "clock unknown"
    return (f"CPU: {info.model}, {info.cores} cores ({info.logical} logical), {clock} "
            f"(/proc/cpuinfo cpu MHz); flags: {flags}")


def peak_flops(info, fma_units=2, clock_ghz=None):
    """`{"float32": FLOP/s, "bfloat16": FLOP/s, "bfloat16_unit": str}` of the whole CPU.

    bfloat16 uses AMX where `amx_bf16` is present, else `avx512_bf16`'s dot products, else the
    float32 units (TensorFlow then converts to float32 and back).
    """
    ghz = clock_ghz or (info.mhz or 0.0) / 1000
    cycles = info.cores * ghz * 1e9
    if "avx512f" in info.flags:
        fp32 = fma_units * AVX512_FP32_LANES * FMA_FLOPS_PER_LANE
    elif "avx2" in info.flags and "fma" in info.flags:
        fp32 = fma_units * AVX2_FP32_LANES * FMA_FLOPS_PER_LANE
    else:
        fp32 = 0  # no FMA units the estimate knows
    if "amx_bf16" in info.flags:
        bf16, unit = AMX_BF16_FLOPS_PER_CYCLE, "AMX-BF16"
    elif "avx512_bf16" in info.flags:
        bf16, unit = 2 * fp32, "AVX512_BF16"
    else:
        bf16, unit = fp32, "float32 units"
    return {"float32": cycles * fp32, "bfloat16": cycles * bf16, "bfloat16_unit": unit}


def process_start_ticks(pid="self"):
    """The kernel's start time of process `pid` (clock ticks since boot: field 22 of
    `/proc/PID/stat`), or None where that is unknown (no `/proc`, no such process)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            # The command may contain spaces and parentheses: fields follow the last ')'.
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def process_age():
    """Seconds since this process started (Linux `/proc`), or None where that is unknown."""
    start_ticks = process_start_ticks()
    try:
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return None if start_ticks is None else uptime - start_ticks / os.sysconf("SC_CLK_TCK")
