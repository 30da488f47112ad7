/* Spin through an ExactCFbend slice (ImpactX's ExactCFbend::spin_and_phasespace_push): the orbit and the spin
 * integrated together (spin/symplectic.h); the spin step (ImpactX's ExactCFbend::map3) rotates by tau times the
 * Thomas-BMT vector (bt_tbmt) in the Frenet-Serret frame of curvature h = 1 / rc of the curved-frame field
 * B = (ks_0 + dpy, rho kn_0 - dpx) beta gamma_ref / rho [normalised by q / (m c)], rho = 1 + x / rc, with
 * (dpx, dpy) the multipole kicks of map2 (quadrupole .. decapole, bt_exactcfbend_kicks) and kn_0 = 1 / rc the
 * dipole, u = (px, py, ps) / P, P = sqrt(1 - 2 pt/beta + pt^2), gamma_p = gamma (1 - beta pt), at the current
 * orbit. Source: ImpactX src/elements/ExactCFbend.H (2026-06; checked per particle against ImpactX 26.10 by
 * tests/oracle/test_spin_oracle.py). */
#ifndef BEAMTRACK_SPIN_EXACTCFBEND_H
#define BEAMTRACK_SPIN_EXACTCFBEND_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/exactcfbend.h"
#include "beamtrack/engine/elements/c/spin/symplectic.h"

BT_FN void ExactCFbend_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void bt_exactcfbend_spin(const bt_op* op, const double* aux, double tau, bt_part* p, bt_spin* s)
{
    int64_t const n = op->aux_len / 2;
    const double* kn = aux + op->aux_offset;
    const double* ks = kn + n;
    double const scale = ExactCFbend_scale(op), rc = op->c[1];
    double dpx, dpy;
    bt_exactcfbend_kicks(op, p->x, p->y, &dpx, &dpy);
    double const rho = 1.0 + p->x / rc, f = op->beta * op->gamma / rho;
    bt_spin_step_magnetic(op, p, 1.0 / rc, (ks[0] * scale + dpy) * f, (rho * kn[0] * scale - dpx) * f, tau, s);
}

BT_FN void ExactCFbend_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    BT_SYMP_INTEGRATE_SPIN(bt_exactcfbend_map1, bt_exactcfbend_map2, bt_exactcfbend_spin, op, aux, p, s,
                           (int)ExactCFbend_int_order(op), (int)ExactCFbend_mapsteps(op), op->ds);
}
#endif
