/* The exported functions of a serial or OpenMP tracking kernel (ABI in beamtrack.engine.kernels.codegen).
 *
 * Included last by the generated kernel source, after every class's header and its loop
 * (cpu_class_loop.h), with the class list defined as an X-macro:
 *   #define BT_CLASSES(X) X(0, LinearMap) X(1, Drift) ...     (kind id, C name prefix)
 * Particles are processed in chunks of BT_CHUNK that stay in L1 cache while every op is applied
 * to them. Compiled with -fopenmp (_OPENMP defined) the chunks are shared among nthreads threads.
 */
#ifndef BEAMTRACK_CPU_KERNEL_H
#define BEAMTRACK_CPU_KERNEL_H
#include "beamtrack/engine/kernels/loops/config.h"

#ifdef _OPENMP
#define BT_PARALLEL_FOR _Pragma("omp parallel for schedule(static) num_threads(nthreads)")
#else
#define BT_PARALLEL_FOR
#endif

#ifdef BT_SPIN
#define BT_RUN_CASE(ID, NAME)                                             \
    case ID:                                                              \
        bt_run_##ID(op, aux, m, x, y, t, px, py, pt, sx, sy, sz, st, sl); \
        break;
#else
#define BT_RUN_CASE(ID, NAME)                                 \
    case ID:                                                  \
        bt_run_##ID(op, aux, m, x, y, t, px, py, pt, st, sl); \
        break;
#endif

void bt_setup(bt_op* ops, int64_t nops, const double* aux)
{
    for (int64_t i = 0; i < nops; ++i) {
        switch (ops[i].kind) {
            BT_CLASSES(BT_SETUP_CASE)
        default:
            break;
        }
    }
}

static void bt_track_chunk(double* real, int64_t cap, int64_t c0, int64_t m, int32_t* state, double* s_lost,
                           const bt_op* ops, int64_t nops, const double* aux)
{
    double* x = real + c0;
    double* y = real + cap + c0;
    double* t = real + 2 * cap + c0;
    double* px = real + 3 * cap + c0;
    double* py = real + 4 * cap + c0;
    double* pt = real + 5 * cap + c0;
    int32_t* st = state + c0;
    double* sl = s_lost + c0;
#ifdef BT_SPIN
    double* sx = real + 7 * cap + c0;
    double* sy = real + 8 * cap + c0;
    double* sz = real + 9 * cap + c0;
#endif
    for (int64_t k = 0; k < nops; ++k) {
        const bt_op* op = &ops[k];
        switch (op->kind) {
            BT_CLASSES(BT_RUN_CASE)
        default:
            break;
        }
    }
}

void bt_track(double* real, int64_t cap, int64_t n, int32_t* state, double* s_lost, const bt_op* ops, int64_t nops,
              const double* aux, int32_t nthreads)
{
    (void)nthreads;
    int64_t const nchunk = (n + BT_CHUNK - 1) / BT_CHUNK;
    BT_PARALLEL_FOR
    for (int64_t ic = 0; ic < nchunk; ++ic) {
        int64_t const c0 = ic * BT_CHUNK;
        int64_t const m = (n - c0 < BT_CHUNK) ? n - c0 : BT_CHUNK;
        bt_track_chunk(real, cap, c0, m, state, s_lost, ops, nops, aux);
    }
}

/* packed execution: variant v holds the npv particles at columns [v * stride, v * stride + npv) and
   its own nops ops at ops[v * nops]; chunks restart at each variant's first particle */
void bt_track_batch(double* real, int64_t cap, int64_t nvar, int64_t stride, int64_t npv, int32_t* state,
                    double* s_lost, const bt_op* ops, int64_t nops, const double* aux, int32_t nthreads)
{
    (void)nthreads;
    int64_t const per = (npv + BT_CHUNK - 1) / BT_CHUNK;
    int64_t const nchunk = nvar * per;
    BT_PARALLEL_FOR
    for (int64_t ic = 0; ic < nchunk; ++ic) {
        int64_t const v = ic / per;
        int64_t const r0 = (ic - v * per) * BT_CHUNK;
        int64_t const m = (npv - r0 < BT_CHUNK) ? npv - r0 : BT_CHUNK;
        bt_track_chunk(real, cap, v * stride + r0, m, state, s_lost, ops + v * nops, nops, aux);
    }
}

#endif
