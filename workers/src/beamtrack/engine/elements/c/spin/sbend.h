/* Spin through an Sbend slice (ImpactX's Sbend::spin_and_phasespace_push): with theta = L / rc,
 * g = 1 + G gamma, phi = G gamma theta: first lambda = (A14 py, A21 x + A22 px + A26 pt, A34 py) of
 * the entry coordinates, then the reference rotation (0, -phi, 0), then the phase-space map;
 * A14 = (gamma - 1)/gamma (1 - cos phi), A21 = -g sin(theta) / rc, A22 = -g (1 - cos theta),
 * A26 = -g sin(theta) / beta + G beta gamma theta, A34 = (gamma - 1)/gamma sin phi.
 * Source: ImpactX src/elements/Sbend.H. */
#ifndef BEAMTRACK_SPIN_SBEND_H
#define BEAMTRACK_SPIN_SBEND_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/sbend.h"

/* c[7..12] = -phi, A14, A21, A22, A26, A34 (c[0..6]: Sbend_setup) */
BT_FN void Sbend_spin_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const G = op->p[BT_P_GYRO], gamma = op->gamma, beta = op->beta;
    double const rc = Sbend_rc(op), h = (rc == 0.0) ? 0.0 : 1.0 / rc, theta = op->ds * h;
    double const g = 1.0 + G * gamma, phi = G * gamma * theta;
    double const hp = sin(0.5 * phi), ht = sin(0.5 * theta);
    op->c[7] = -phi;
    op->c[8] = (gamma - 1.0) / gamma * 2.0 * hp * hp;
    op->c[9] = -g * sin(theta) * h;
    op->c[10] = -g * 2.0 * ht * ht;
    op->c[11] = -g * sin(theta) / beta + G * beta * gamma * theta;
    op->c[12] = (gamma - 1.0) / gamma * sin(phi);
}

BT_FN void Sbend_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const* c = op->c;
    bt_rotate_spin(c[8] * p->py, c[9] * p->x + c[10] * p->px + c[11] * p->pt, c[12] * p->py, s);
    bt_rotate_spin(0.0, c[7], 0.0, s);
    Sbend_push(op, aux, p);
}
#endif
