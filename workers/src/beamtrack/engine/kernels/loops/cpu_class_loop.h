/* The CPU loop of one element class over one chunk of particles: bt_run_<BT_CLASS_ID>().
 *
 * Included once per class of the kernel, after the class's header, with
 *   BT_CLASS     the element class's C name prefix (its BT_CLASS_push / BT_CLASS_spin_push)
 *   BT_CLASS_ID  its kind id in this kernel (position in the kernel's class list)
 *   BT_CAN_LOSE  0/1: can its push lose particles (p->lost)
 * defined; this header undefines them again. The particle rows of the chunk come in as restrict
 * pointers and the op as a local copy: stores to particles cannot alias the op, so the loop over the
 * chunk vectorises. Without BT_SPIN, ops without flags take the fast loop, which pushes every
 * particle and keeps the result of the live ones with selects (losses recorded with masked stores,
 * so it vectorises too). With BT_SPIN the spin (rows 7..9: sx, sy, sz) is pushed with the phase space.
 */
#include "beamtrack/engine/kernels/loops/config.h"

#ifndef BT_SIMD
#define BT_SIMD _Pragma("omp simd") /* the loop over one chunk is a SIMD loop */
#endif

#define BT_RUN BT_CAT(bt_run_, BT_CLASS_ID)

static void BT_RUN(const bt_op* op_in, const double* restrict aux, int64_t m, double* restrict x, double* restrict y,
                   double* restrict t, double* restrict px, double* restrict py, double* restrict pt,
#ifdef BT_SPIN
                   double* restrict sx, double* restrict sy, double* restrict sz,
#endif
                   int32_t* restrict st, double* restrict sl)
{
    const bt_op op_local = *op_in;
    const bt_op* const op = &op_local;
#ifndef BT_SPIN
    if (op->flags == 0) {
        for (int32_t r = 0; r < op->nslice; ++r) {
#if BT_CAN_LOSE
            int32_t const idx = op->index + 1;
            double const s_here = op->s_exit - (op->nslice - 1 - r) * op->ds;
#endif
            BT_SIMD
            for (int64_t j = 0; j < m; ++j) {
                bt_part p = {x[j], y[j], t[j], px[j], py[j], pt[j], 0};
                BT_CAT(BT_CLASS, _push)(op, aux, &p);
                int const live = (st[j] == 0);
                x[j] = live ? p.x : x[j];
                y[j] = live ? p.y : y[j];
                t[j] = live ? p.t : t[j];
                px[j] = live ? p.px : px[j];
                py[j] = live ? p.py : py[j];
                pt[j] = live ? p.pt : pt[j];
#if BT_CAN_LOSE
                int const died = live & p.lost;
                st[j] = died ? idx : st[j];
                sl[j] = died ? s_here : sl[j];
#endif
            }
        }
        return;
    }
#endif
    for (int32_t r = 0; r < op->nslice; ++r) {
        for (int64_t j = 0; j < m; ++j) {
            if (st[j]) continue;
            bt_part p = {x[j], y[j], t[j], px[j], py[j], pt[j], 0};
#ifdef BT_SPIN
            bt_spin s = {sx[j], sy[j], sz[j]};
#endif
            if (BT_OP_HAS(op, BT_MISALIGNED)) BT_SHIFT_IN(op, &p, &s);
            BT_PUSH(BT_CLASS, op, aux, &p, &s);
            if (BT_OP_HAS(op, BT_APERTURE)) bt_check_aperture(op, &p);
            if (BT_OP_HAS(op, BT_MISALIGNED)) BT_SHIFT_OUT(op, &p, &s);
            x[j] = p.x;
            y[j] = p.y;
            t[j] = p.t;
            px[j] = p.px;
            py[j] = p.py;
            pt[j] = p.pt;
#ifdef BT_SPIN
            sx[j] = s.sx;
            sy[j] = s.sy;
            sz[j] = s.sz;
#endif
            if (p.lost) {
                st[j] = op->index + 1;
                sl[j] = op->s_exit - (op->nslice - 1 - r) * op->ds;
            }
        }
    }
}

#undef BT_RUN
#undef BT_CLASS
#undef BT_CLASS_ID
#undef BT_CAN_LOSE
