/* Spin through an ExactSbend slice (ImpactX's ExactSbend::spin_and_phasespace_push): the phase-space
 * map first (the spin map needs the transit time), then with the entry direction u = (px, py, .) / P,
 * P = sqrt(1 + pt^2 - 2 pt/beta), uz = sqrt(1 - ux^2 - uy^2), gamma_p = gamma (1 - beta pt), the
 * cyclotron phase advance theta = (t_out - t_in + phi rc / beta) beta gamma / (rc gamma_p):
 *   lambda = G theta ((gamma_p - 1) uy ux, -gamma_p + (gamma_p - 1) uy^2, (gamma_p - 1) uy uz),
 * then (0, phi - theta, 0). Zero field (an exact drift): no rotation. Source: ImpactX src/elements/ExactSbend.H. */
#ifndef BEAMTRACK_SPIN_EXACTSBEND_H
#define BEAMTRACK_SPIN_EXACTSBEND_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/exactsbend.h"

BT_FN void ExactSbend_spin_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}

BT_FN void ExactSbend_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    if (ExactSbend_zero_field(op) != 0.0) {
        ExactDrift_push(op, aux, p);
        return;
    }
    double const beta = op->beta, rc = op->c[4], phi = op->c[5], G = op->p[BT_P_GYRO];
    double const ti = p->t, pt = p->pt;
    double const P = sqrt(1.0 + pt * pt - 2.0 * pt / beta);
    double const gp = (1.0 - pt * beta) * op->gamma;
    double const ux = p->px / P, uy = p->py / P, uz = sqrt(1.0 - ux * ux - uy * uy);
    ExactSbend_push(op, aux, p);
    double const theta = (p->t - ti + phi * rc / beta) / rc * op->beta_gamma / gp;
    bt_rotate_spin(G * theta * (gp - 1.0) * uy * ux, G * theta * (-gp + (gp - 1.0) * uy * uy),
                   G * theta * (gp - 1.0) * uy * uz, s);
    bt_rotate_spin(0.0, phi - theta, 0.0, s);
}
#endif
