/* Spin through an ExactMultipole slice (ImpactX's ExactMultipole::spin_and_phasespace_push): the orbit and the spin
 * integrated together (spin/symplectic.h); the spin step (ImpactX's ExactMultipole::map3) rotates by tau times
 * the Thomas-BMT vector (bt_tbmt, h = 0) of the multipole field B_y + i B_x = sum_m (kn_m + i ks_m)(x + i y)^m / m!
 * times beta gamma_ref [normalised by q / (m c)], u = (px, py, ps) / P, P = sqrt(1 - 2 pt/beta + pt^2),
 * gamma_p = gamma (1 - beta pt), at the current orbit. Source: ImpactX src/elements/ExactMultipole.H (2026-06;
 * checked per particle against ImpactX 26.10 by tests/oracle/test_spin_oracle.py). */
#ifndef BEAMTRACK_SPIN_EXACTMULTIPOLE_H
#define BEAMTRACK_SPIN_EXACTMULTIPOLE_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/exactmultipole.h"
#include "beamtrack/engine/elements/c/spin/symplectic.h"

BT_FN void ExactMultipole_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void bt_exactmultipole_spin(const bt_op* op, const double* aux, double tau, bt_part* p, bt_spin* s)
{
    int64_t const n = op->aux_len / 2;
    const double* kn = aux + op->aux_offset;
    const double* ks = kn + n;
    double const scale = ExactMultipole_scale(op), bgr = op->beta * op->gamma;
    double zr = 1.0, zi = 0.0, fact = 1.0, Bx = 0.0, By = 0.0; /* (x + i y)^m, m! */
    for (int64_t m = 0; m < n; ++m) {
        double const ar = kn[m] * scale, ai = ks[m] * scale;
        Bx += (zr * ai + zi * ar) / fact * bgr;
        By += (zr * ar - zi * ai) / fact * bgr;
        double const r = zr * p->x - zi * p->y;
        zi = zr * p->y + zi * p->x;
        zr = r;
        fact *= (double)(m + 1);
    }
    bt_spin_step_magnetic(op, p, 0.0, Bx, By, tau, s);
}

BT_FN void ExactMultipole_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    BT_SYMP_INTEGRATE_SPIN(bt_exactmultipole_map1, bt_exactmultipole_map2, bt_exactmultipole_spin, op, aux, p, s,
                           (int)ExactMultipole_int_order(op), (int)ExactMultipole_mapsteps(op), op->ds);
}
#endif
