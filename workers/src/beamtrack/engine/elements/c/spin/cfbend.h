/* Spin through a CFbend slice (ImpactX's CFbend::spin_and_phasespace_push): first
 * lambda = (A13 y + A14 py, A21 x + A22 px + A26 pt, A33 y + A34 py) of the entry coordinates, then the
 * reference rotation (0, -G h gamma L, 0), then the phase-space map. With h = 1/rc, gx = k + h^2,
 * gy = -k, (cx, sx), (cy, sy) the cosine- and sine-like functions of the planes, g1 = 1 + G gamma,
 * g2 = 1 + G gamma^2, a = G h gamma, F = 1 / (a^2 - gy), Q = (G h)^2 (gamma - 1) gamma - gy g1, the A's
 * are ImpactX's (src/elements/CFbend.H, compute_constants), term by term below. */
#ifndef BEAMTRACK_SPIN_CFBEND_H
#define BEAMTRACK_SPIN_CFBEND_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/cfbend.h"

/* c[9..16] = -G h gamma L, A13, A14, A21, A22, A26, A33, A34 (c[0..8]: CFbend_setup) */
BT_FN void CFbend_spin_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const G = op->p[BT_P_GYRO], gamma = op->gamma, beta = op->beta, L = op->ds;
    double const rc = CFbend_rc(op), k = CFbend_k(op), h = 1.0 / rc;
    double const gx = k + h * h, gy = -k;
    double cx, sx, ax, bx, cy, sy, ay, by;
    bt_focus_functions(gx, L, &cx, &sx, &ax, &bx);
    bt_focus_functions(gy, L, &cy, &sy, &ay, &by);
    (void)ax; (void)bx; (void)ay; (void)by;
    double const g1 = 1.0 + G * gamma, g2 = 1.0 + G * gamma * gamma, a = G * h * gamma;
    double const sinG = sin(a * L), cosG = cos(a * L);
    double const F = 1.0 / (-gy + a * a);
    double const aq = G * h * g2;
    double const Q = (G * h) * (G * h) * (gamma - 1.0) * gamma - gy * g1;
    op->c[9] = -a * L;
    op->c[10] = (aq * gy * cy * sinG + gy * Q * sy * cosG) * F;
    op->c[11] = (aq * gy * sy * sinG + Q * (1.0 - cosG * cy)) * F;
    op->c[12] = -g1 * gx * sx;
    op->c[13] = -g1 * (1.0 - cx);
    op->c[14] = G * h * beta * gamma * L - h * g1 * sx / beta;
    op->c[15] = (-Q * gy * sy * sinG - gy * aq * (1.0 - cosG * cy)) * F;
    op->c[16] = (Q * cy * sinG + aq * gy * cosG * sy) * F;
}

BT_FN void CFbend_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const* c = op->c;
    bt_rotate_spin(c[10] * p->y + c[11] * p->py, c[12] * p->x + c[13] * p->px + c[14] * p->pt,
                   c[15] * p->y + c[16] * p->py, s);
    bt_rotate_spin(0.0, c[9], 0.0, s);
    CFbend_push(op, aux, p);
}
#endif
