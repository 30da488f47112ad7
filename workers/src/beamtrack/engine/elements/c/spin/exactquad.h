/* Spin through an ExactQuad slice (ImpactX's ExactQuad::spin_and_phasespace_push): the orbit and the spin
 * integrated together (spin/symplectic.h); the spin step (ImpactX's ExactQuad::map3) rotates by tau times the
 * Thomas-BMT vector (bt_tbmt, h = 0) of the quadrupole field B = g (y, x, 0) beta gamma_ref [normalised by
 * q / (m c)] with the velocity direction u = (px, py, ps) / P, P = sqrt(1 - 2 pt/beta + pt^2),
 * gamma_p = gamma (1 - beta pt), at the current orbit. Source: ImpactX src/elements/ExactQuad.H (2026-06;
 * checked per particle against ImpactX 26.10 by tests/oracle/test_spin_oracle.py). */
#ifndef BEAMTRACK_SPIN_EXACTQUAD_H
#define BEAMTRACK_SPIN_EXACTQUAD_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/exactquad.h"
#include "beamtrack/engine/elements/c/spin/symplectic.h"

BT_FN void ExactQuad_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void bt_exactquad_spin(const bt_op* op, const double* aux, double tau, bt_part* p, bt_spin* s)
{
    (void)aux;
    double const g = ExactQuad_g(op), bgr = op->beta * op->gamma;
    bt_spin_step_magnetic(op, p, 0.0, g * p->y * bgr, g * p->x * bgr, tau, s);
}

BT_FN void ExactQuad_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    BT_SYMP_INTEGRATE_SPIN(bt_exactquad_map1, bt_exactquad_map2, bt_exactquad_spin, op, aux, p, s,
                           (int)ExactQuad_int_order(op), (int)ExactQuad_mapsteps(op), op->ds);
}
#endif
