/* The CUDA tracking kernel (CuPy RawModule / NVRTC or nvcc; ABI in beamtrack.engine.kernels.codegen).
 *
 * Included last by the generated kernel source, after every class's header, with the class list
 * defined as an X-macro:
 *   #define BT_CLASSES(X) X(0, LinearMap) X(1, Drift) ...     (kind id, C name prefix)
 * One thread carries one particle through all ops in registers.
 */
#ifndef BEAMTRACK_CUDA_KERNEL_H
#define BEAMTRACK_CUDA_KERNEL_H
#ifdef __CUDACC__
#include "beamtrack/engine/kernels/loops/config.h"

#define BT_PUSH_CASE(ID, NAME)          \
    case ID:                            \
        BT_PUSH(NAME, op, aux, &p, &s); \
        break;

extern "C" __global__ void bt_setup(bt_op* ops, long long nops, const double* aux)
{
    long long const i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= nops) return;
    switch (ops[i].kind) {
        BT_CLASSES(BT_SETUP_CASE)
    default:
        break;
    }
}

__device__ static inline void bt_track_one(double* real, long long cap, long long i, int* state, double* s_lost,
                                           const bt_op* ops, long long nops, const double* aux)
{
    if (state[i]) return;
    bt_part p = {real[i], real[cap + i], real[2 * cap + i], real[3 * cap + i], real[4 * cap + i], real[5 * cap + i], 0};
#ifdef BT_SPIN
    bt_spin s = {real[7 * cap + i], real[8 * cap + i], real[9 * cap + i]};
#endif
    for (long long k = 0; k < nops && !p.lost; ++k) {
        const bt_op* op = &ops[k];
        for (int r = 0; r < op->nslice; ++r) {
            if (BT_OP_HAS(op, BT_MISALIGNED)) BT_SHIFT_IN(op, &p, &s);
            switch (op->kind) {
                BT_CLASSES(BT_PUSH_CASE)
            default:
                break;
            }
            if (BT_OP_HAS(op, BT_APERTURE)) bt_check_aperture(op, &p);
            if (BT_OP_HAS(op, BT_MISALIGNED)) BT_SHIFT_OUT(op, &p, &s);
            if (p.lost) {
                state[i] = op->index + 1;
                s_lost[i] = op->s_exit - (op->nslice - 1 - r) * op->ds;
                break;
            }
        }
    }
    real[i] = p.x;
    real[cap + i] = p.y;
    real[2 * cap + i] = p.t;
    real[3 * cap + i] = p.px;
    real[4 * cap + i] = p.py;
    real[5 * cap + i] = p.pt;
#ifdef BT_SPIN
    real[7 * cap + i] = s.sx;
    real[8 * cap + i] = s.sy;
    real[9 * cap + i] = s.sz;
#endif
}

extern "C" __global__ void bt_track(double* real, long long cap, long long n, int* state, double* s_lost,
                                    const bt_op* ops, long long nops, const double* aux)
{
    long long const i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    bt_track_one(real, cap, i, state, s_lost, ops, nops, aux);
}

/* packed execution (see cpu_kernel.h's bt_track_batch): one thread a particle */
extern "C" __global__ void bt_track_batch(double* real, long long cap, long long nvar, long long stride, long long npv,
                                          int* state, double* s_lost, const bt_op* ops, long long nops,
                                          const double* aux)
{
    long long const g = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (g >= nvar * npv) return;
    long long const v = g / npv;
    bt_track_one(real, cap, v * stride + (g - v * npv), state, s_lost, ops + v * nops, nops, aux);
}

#endif
#endif
