/* Spin through a Sol slice (ImpactX's Sol::spin_and_phasespace_push): with theta = ks L / 2,
 * r = (gamma - 1) / 2, a = 2 G theta, n = -2 theta (1 + G), first the rotation
 *   lambda = (r ((2 px + ks y) sin a - (2 py - ks x)(1 - cos a)), r ((2 py - ks x) sin a + (2 px + ks y)(1 - cos a)), n pt / beta)
 * of the entry coordinates, then the reference rotation (0, 0, n), then the phase-space map.
 * Source: ImpactX src/elements/Sol.H. */
#ifndef BEAMTRACK_SPIN_SOL_H
#define BEAMTRACK_SPIN_SOL_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/sol.h"

/* c[5] = r, c[6] = sin a, c[7] = 1 - cos a, c[8] = n, c[9] = ks (c[0..4]: Sol_setup) */
BT_FN void Sol_spin_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const G = op->p[BT_P_GYRO], ks = Sol_ks(op), theta = 0.5 * ks * op->ds;
    double const h = sin(G * theta);
    op->c[5] = 0.5 * (op->gamma - 1.0);
    op->c[6] = sin(2.0 * G * theta);
    op->c[7] = 2.0 * h * h;
    op->c[8] = -2.0 * theta * (1.0 + G);
    op->c[9] = ks;
}

BT_FN void Sol_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const* c = op->c;
    double const u = 2.0 * p->px + c[9] * p->y, v = 2.0 * p->py - c[9] * p->x;
    bt_rotate_spin(c[5] * (u * c[6] - v * c[7]), c[5] * (v * c[6] + u * c[7]), c[8] * p->pt / op->beta, s);
    bt_rotate_spin(0.0, 0.0, c[8], s);
    Sol_push(op, aux, p);
}
#endif
