"""Generate the C source of one tracking kernel from the element classes it must hold.

A kernel exports ``bt_setup(ops, nops, aux)``, ``bt_track(real, cap, n, state, s_lost, ops, nops,
aux, nthreads)`` and ``bt_track_batch(real, cap, nvar, stride, npv, state, s_lost, ops, nops, aux,
nthreads)``. On the CPU, particles are processed in chunks of ``BT_CHUNK`` that stay in L1 cache
while every op of a fused segment is applied to them (the inner loop over the chunk is a SIMD
loop); on CUDA, one thread carries one particle through all ops in registers.

``bt_track_batch`` is packed execution: ``nvar`` variants of one line, variant ``v`` holding the
``npv`` particles at columns ``[v * stride, v * stride + npv)`` and its own ``nops`` ops at
``ops[v * nops]``. Chunks restart at each variant's first particle and never straddle two, and
a chunk runs exactly the code ``bt_track`` runs on the variant alone, so each particle's result
is the one an unpacked run gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

KINDS = ("serial", "openmp", "cuda")


@dataclass(frozen=True)
class KernelClass:
    """One element class as the kernel sees it: C name prefix, header include path, can it lose particles."""

    name: str
    header: str
    can_lose: bool = False


def _cpu_runner(i: int, k: KernelClass) -> str:
    n = k.name
    # A class that can lose particles records each loss with masked stores, so its loop vectorises too.
    lose = (
        """
                int const died = live & p.lost;
                st[j] = died ? idx : st[j];
                sl[j] = died ? s_here : sl[j];"""
        if k.can_lose
        else ""
    )
    lose_setup = (
        """
            int32_t const idx = op->index + 1;
            double const s_here = op->s_exit - (op->nslice - 1 - r) * op->ds;"""
        if k.can_lose
        else ""
    )
    fast = f"""
    if (op->flags == 0) {{
        for (int32_t r = 0; r < op->nslice; ++r) {{{lose_setup}
            BT_SIMD
            for (int64_t j = 0; j < m; ++j) {{
                bt_part p = {{x[j], y[j], t[j], px[j], py[j], pt[j], 0}};
                {n}_push(op, aux, &p);
                int const live = (st[j] == 0);
                x[j] = live ? p.x : x[j]; y[j] = live ? p.y : y[j]; t[j] = live ? p.t : t[j];
                px[j] = live ? p.px : px[j]; py[j] = live ? p.py : py[j]; pt[j] = live ? p.pt : pt[j];{lose}
            }}
        }}
        return;
    }}"""
    return f"""
static void bt_run_{i}(const bt_op* op_in, const double* restrict aux, int64_t m,
                      double* restrict x, double* restrict y, double* restrict t, double* restrict px,
                      double* restrict py, double* restrict pt, int32_t* restrict st, double* restrict sl)
{{
    /* a local copy of the op and restrict pointers: stores to particles cannot alias the op, so the
       chunk loop vectorises */
    const bt_op op_local = *op_in;
    const bt_op* const op = &op_local;{fast}
    for (int32_t r = 0; r < op->nslice; ++r) {{
        for (int64_t j = 0; j < m; ++j) {{
            if (st[j]) continue;
            bt_part p = {{x[j], y[j], t[j], px[j], py[j], pt[j], 0}};
            if (op->flags & BT_MISALIGNED) bt_shift_in(op, &p);
            {n}_push(op, aux, &p);
            if (op->flags & BT_APERTURE) bt_check_aperture(op, &p);
            if (op->flags & BT_MISALIGNED) bt_shift_out(op, &p);
            x[j] = p.x; y[j] = p.y; t[j] = p.t; px[j] = p.px; py[j] = p.py; pt[j] = p.pt;
            if (p.lost) {{
                st[j] = op->index + 1;
                sl[j] = op->s_exit - (op->nslice - 1 - r) * op->ds;
            }}
        }}
    }}
}}
"""


# glibc >= 2.35 ships SIMD variants of these in libmvec (linked through libm.so's AS_NEEDED); declaring
# them lets the chunk loops of elements that call them (ChrQuad, bends, ...) vectorise instead of
# calling the scalar function per particle. libmvec's documented accuracy is 4 ulp.
_VECTOR_MATH = """#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GLIBC_PREREQ) && !defined(BT_NO_VECTOR_MATH)
#if __GLIBC_PREREQ(2, 35)
#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);
#pragma omp declare simd notinbranch
double tan(double);
#pragma omp declare simd notinbranch
double sinh(double);
#pragma omp declare simd notinbranch
double cosh(double);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
double asin(double);
#pragma omp declare simd notinbranch
double atan2(double, double);
#pragma omp declare simd notinbranch
double hypot(double, double);
#endif
#endif"""


def generate_cpu(classes: Sequence[KernelClass], kind: str, chunk: int = 256) -> str:
    """C source for the serial or OpenMP kernel holding ``classes`` (kind ids = list positions)."""
    if kind not in ("serial", "openmp"):
        raise ValueError(f"not a CPU kind: {kind}")
    includes = "\n".join(f'#include "{k.header}"' for k in dict.fromkeys(classes))
    runners = "".join(_cpu_runner(i, k) for i, k in enumerate(classes))
    setup_cases = "\n".join(f"        case {i}: {k.name}_setup(&ops[i], aux); break;" for i, k in enumerate(classes))
    track_cases = "\n".join(
        f"            case {i}: bt_run_{i}(op, aux, m, x, y, t, px, py, pt, st, sl); break;"
        for i, k in enumerate(classes)
    )
    parallel = "#pragma omp parallel for schedule(static) num_threads(nthreads)" if kind == "openmp" else ""
    return f"""/* generated by beamtrack.engine.kernels.codegen: kind={kind} */
#include "beamtrack/engine/kernels/bt_common.h"
{_VECTOR_MATH}
{includes}

#define BT_CHUNK {chunk}
#define BT_SIMD _Pragma("omp simd")
{runners}
void bt_setup(bt_op* ops, int64_t nops, const double* aux)
{{
    for (int64_t i = 0; i < nops; ++i) {{
        switch (ops[i].kind) {{
{setup_cases}
        default: break;
        }}
    }}
}}

static void bt_track_chunk(double* real, int64_t cap, int64_t c0, int64_t m, int32_t* state, double* s_lost,
                           const bt_op* ops, int64_t nops, const double* aux)
{{
    double* x = real + c0; double* y = real + cap + c0; double* t = real + 2 * cap + c0;
    double* px = real + 3 * cap + c0; double* py = real + 4 * cap + c0; double* pt = real + 5 * cap + c0;
    int32_t* st = state + c0; double* sl = s_lost + c0;
    for (int64_t k = 0; k < nops; ++k) {{
        const bt_op* op = &ops[k];
        switch (op->kind) {{
{track_cases}
            default: break;
        }}
    }}
}}

void bt_track(double* real, int64_t cap, int64_t n, int32_t* state, double* s_lost,
              const bt_op* ops, int64_t nops, const double* aux, int32_t nthreads)
{{
    (void)nthreads;
    int64_t const nchunk = (n + BT_CHUNK - 1) / BT_CHUNK;
    {parallel}
    for (int64_t ic = 0; ic < nchunk; ++ic) {{
        int64_t const c0 = ic * BT_CHUNK;
        int64_t const m = (n - c0 < BT_CHUNK) ? n - c0 : BT_CHUNK;
        bt_track_chunk(real, cap, c0, m, state, s_lost, ops, nops, aux);
    }}
}}

void bt_track_batch(double* real, int64_t cap, int64_t nvar, int64_t stride, int64_t npv, int32_t* state,
                    double* s_lost, const bt_op* ops, int64_t nops, const double* aux, int32_t nthreads)
{{
    (void)nthreads;
    int64_t const per = (npv + BT_CHUNK - 1) / BT_CHUNK;
    int64_t const nchunk = nvar * per;
    {parallel}
    for (int64_t ic = 0; ic < nchunk; ++ic) {{
        int64_t const v = ic / per;
        int64_t const r0 = (ic - v * per) * BT_CHUNK;
        int64_t const m = (npv - r0 < BT_CHUNK) ? npv - r0 : BT_CHUNK;
        bt_track_chunk(real, cap, v * stride + r0, m, state, s_lost, ops + v * nops, nops, aux);
    }}
}}
"""


def generate_cuda(classes: Sequence[KernelClass]) -> str:
    """CUDA C++ source (for CuPy RawModule / NVRTC or nvcc) holding ``classes``."""
    includes = "\n".join(f'#include "{k.header}"' for k in dict.fromkeys(classes))
    setup_cases = "\n".join(f"    case {i}: {k.name}_setup(&ops[i], aux); break;" for i, k in enumerate(classes))
    push_cases = "\n".join(f"            case {i}: {k.name}_push(op, aux, &p); break;" for i, k in enumerate(classes))
    return f"""/* generated by beamtrack.engine.kernels.codegen: kind=cuda */
#include "beamtrack/engine/kernels/bt_common.h"
{includes}

extern "C" __global__ void bt_setup(bt_op* ops, long long nops, const double* aux)
{{
    long long const i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= nops) return;
    switch (ops[i].kind) {{
{setup_cases}
    default: break;
    }}
}}

__device__ static inline void bt_track_one(double* real, long long cap, long long i, int* state, double* s_lost,
                                           const bt_op* ops, long long nops, const double* aux)
{{
    if (state[i]) return;
    bt_part p = {{real[i], real[cap + i], real[2 * cap + i], real[3 * cap + i], real[4 * cap + i], real[5 * cap + i], 0}};
    for (long long k = 0; k < nops && !p.lost; ++k) {{
        const bt_op* op = &ops[k];
        for (int r = 0; r < op->nslice; ++r) {{
            if (op->flags & BT_MISALIGNED) bt_shift_in(op, &p);
            switch (op->kind) {{
{push_cases}
            default: break;
            }}
            if (op->flags & BT_APERTURE) bt_check_aperture(op, &p);
            if (op->flags & BT_MISALIGNED) bt_shift_out(op, &p);
            if (p.lost) {{
                state[i] = op->index + 1;
                s_lost[i] = op->s_exit - (op->nslice - 1 - r) * op->ds;
                break;
            }}
        }}
    }}
    real[i] = p.x; real[cap + i] = p.y; real[2 * cap + i] = p.t;
    real[3 * cap + i] = p.px; real[4 * cap + i] = p.py; real[5 * cap + i] = p.pt;
}}

extern "C" __global__ void bt_track(double* real, long long cap, long long n, int* state, double* s_lost,
                                    const bt_op* ops, long long nops, const double* aux)
{{
    long long const i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    bt_track_one(real, cap, i, state, s_lost, ops, nops, aux);
}}

extern "C" __global__ void bt_track_batch(double* real, long long cap, long long nvar, long long stride,
                                          long long npv, int* state, double* s_lost, const bt_op* ops,
                                          long long nops, const double* aux)
{{
    long long const g = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (g >= nvar * npv) return;
    long long const v = g / npv;
    bt_track_one(real, cap, v * stride + (g - v * npv), state, s_lost, ops + v * nops, nops, aux);
}}
"""
