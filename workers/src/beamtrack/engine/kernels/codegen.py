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
from dataclasses import dataclass, field

KINDS = ("serial", "openmp", "cuda")


@dataclass(frozen=True)
class KernelClass:
    """One element class as the kernel sees it: C name prefix, header include path, can it lose particles.

    ``spin_header``: the header of its spin push (``NAME_spin_setup`` / ``NAME_spin_push``, see
    ``bt_spin.h``), None when the class has no spin tracking. It is not part of the class's identity
    (equality, hash, prebuilt metadata): only spin kernels include it, and those are compiled per line.
    """

    name: str
    header: str
    can_lose: bool = False
    spin_header: str | None = field(default=None, compare=False)


def _spin_runner(i: int, k: KernelClass) -> str:
    """The per-class loop of a spin kernel: phase space and spin (rows 7..9) of each live particle."""
    n = k.name
    return f"""
static void bt_run_{i}(const bt_op* op_in, const double* restrict aux, int64_t m,
                      double* restrict x, double* restrict y, double* restrict t, double* restrict px,
                      double* restrict py, double* restrict pt, double* restrict sx, double* restrict sy,
                      double* restrict sz, int32_t* restrict st, double* restrict sl)
{{
    const bt_op op_local = *op_in;
    const bt_op* const op = &op_local;
    for (int32_t r = 0; r < op->nslice; ++r) {{
        for (int64_t j = 0; j < m; ++j) {{
            if (st[j]) continue;
            bt_part p = {{x[j], y[j], t[j], px[j], py[j], pt[j], 0}};
            bt_spin s = {{sx[j], sy[j], sz[j]}};
            if (op->flags & BT_MISALIGNED) {{ bt_shift_in(op, &p); bt_spin_in(op, &s); }}
            {n}_spin_push(op, aux, &p, &s);
            if (op->flags & BT_APERTURE) bt_check_aperture(op, &p);
            if (op->flags & BT_MISALIGNED) {{ bt_shift_out(op, &p); bt_spin_out(op, &s); }}
            x[j] = p.x; y[j] = p.y; t[j] = p.t; px[j] = p.px; py[j] = p.py; pt[j] = p.pt;
            sx[j] = s.sx; sy[j] = s.sy; sz[j] = s.sz;
            if (p.lost) {{
                st[j] = op->index + 1;
                sl[j] = op->s_exit - (op->nslice - 1 - r) * op->ds;
            }}
        }}
    }}
}}
"""


def _spin_headers(classes: Sequence[KernelClass]) -> str:
    missing = [k.name for k in classes if k.spin_header is None]
    if missing:
        raise ValueError(f"spin kernel: element class(es) {', '.join(missing)} have no spin push")
    return "\n".join(f'#include "{h}"' for h in dict.fromkeys(k.spin_header for k in classes))


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


def generate_cpu(classes: Sequence[KernelClass], kind: str, chunk: int = 256, spin: bool = False) -> str:
    """C source for the serial or OpenMP kernel holding ``classes`` (kind ids = list positions).

    ``spin``: also rotate each particle's spin (rows 7..9 of ``real``) with the classes' spin pushes.
    """
    if kind not in ("serial", "openmp"):
        raise ValueError(f"not a CPU kind: {kind}")
    includes = "\n".join(f'#include "{k.header}"' for k in dict.fromkeys(classes))
    if spin:
        includes += "\n" + _spin_headers(classes)
    runners = "".join((_spin_runner if spin else _cpu_runner)(i, k) for i, k in enumerate(classes))
    spin_setup = "{k.name}_spin_setup(&ops[i], aux); " if spin else ""
    setup_cases = "\n".join(
        f"        case {i}: {k.name}_setup(&ops[i], aux); {spin_setup.format(k=k)}break;" for i, k in enumerate(classes)
    )
    spin_args = "sx, sy, sz, " if spin else ""
    track_cases = "\n".join(
        f"            case {i}: bt_run_{i}(op, aux, m, x, y, t, px, py, pt, {spin_args}st, sl); break;"
        for i, k in enumerate(classes)
    )
    spin_rows = (
        ("\n    double* sx = real + 7 * cap + c0; double* sy = real + 8 * cap + c0; double* sz = real + 9 * cap + c0;")
        if spin
        else ""
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
    int32_t* st = state + c0; double* sl = s_lost + c0;{spin_rows}
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


def generate_cuda(classes: Sequence[KernelClass], spin: bool = False) -> str:
    """CUDA C++ source (for CuPy RawModule / NVRTC or nvcc) holding ``classes`` (``spin``: as generate_cpu)."""
    includes = "\n".join(f'#include "{k.header}"' for k in dict.fromkeys(classes))
    if spin:
        includes += "\n" + _spin_headers(classes)
    spin_setup = "{k.name}_spin_setup(&ops[i], aux); " if spin else ""
    setup_cases = "\n".join(
        f"    case {i}: {k.name}_setup(&ops[i], aux); {spin_setup.format(k=k)}break;" for i, k in enumerate(classes)
    )
    call = "{k.name}_spin_push(op, aux, &p, &s)" if spin else "{k.name}_push(op, aux, &p)"
    push_cases = "\n".join(f"            case {i}: {call.format(k=k)}; break;" for i, k in enumerate(classes))
    spin_load = "\n    bt_spin s = {real[7 * cap + i], real[8 * cap + i], real[9 * cap + i]};" if spin else ""
    shift_in, shift_out = "bt_shift_in(op, &p);", "bt_shift_out(op, &p);"
    if spin:
        shift_in, shift_out = (
            "{ bt_shift_in(op, &p); bt_spin_in(op, &s); }",
            "{ bt_shift_out(op, &p); bt_spin_out(op, &s); }",
        )
    spin_store = "\n    real[7 * cap + i] = s.sx; real[8 * cap + i] = s.sy; real[9 * cap + i] = s.sz;" if spin else ""
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
    bt_part p = {{real[i], real[cap + i], real[2 * cap + i], real[3 * cap + i], real[4 * cap + i], real[5 * cap + i], 0}};{spin_load}
    for (long long k = 0; k < nops && !p.lost; ++k) {{
        const bt_op* op = &ops[k];
        for (int r = 0; r < op->nslice; ++r) {{
            if (op->flags & BT_MISALIGNED) {shift_in}
            switch (op->kind) {{
{push_cases}
            default: break;
            }}
            if (op->flags & BT_APERTURE) bt_check_aperture(op, &p);
            if (op->flags & BT_MISALIGNED) {shift_out}
            if (p.lost) {{
                state[i] = op->index + 1;
                s_lost[i] = op->s_exit - (op->nslice - 1 - r) * op->ds;
                break;
            }}
        }}
    }}
    real[i] = p.x; real[cap + i] = p.y; real[2 * cap + i] = p.t;
    real[3 * cap + i] = p.px; real[4 * cap + i] = p.py; real[5 * cap + i] = p.pt;{spin_store}
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
