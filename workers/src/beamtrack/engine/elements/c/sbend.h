/* Sbend: linear sector bend (ImpactX's Sbend). Sbend_rc(op) [m] (bending radius, sign = direction; 0: drift).
 * Slice angle theta = ds / rc; with (t, pt) of opposite sign to Wolski's (z, delta):
 *   x' = cos x + rc sin px - rc (1 - cos)/beta pt,   px' = -sin/rc x + cos px - sin/beta pt,
 *   y' = y + ds py,   t' = t + sin/beta x + rc (1 - cos)/beta px + (ds/(beta gamma)^2 - rc (theta - sin)/beta^2) pt.
 * Source: ImpactX src/elements/Sbend.H (R56 = rc (-theta + sin/beta^2), regrouped: no cancellation).
 */
#ifndef BEAMTRACK_SBEND_H
#define BEAMTRACK_SBEND_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c: R11 R12 R16 R21 R26 R34 R56 (R22 = R11, R51 = -R26, R52 = -R16) */
BT_FN void Sbend_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const rc = Sbend_rc(op), L = op->ds, ib = 1.0 / op->beta;
    double const h = (rc == 0.0) ? 0.0 : 1.0 / rc; /* rc = 0: a drift (ImpactX) */
    double const theta = L * h;
    double const s = sin(theta), c = cos(theta), sh = sin(0.5 * theta);
    double const omc = 2.0 * sh * sh; /* 1 - cos(theta) */
    /* theta - sin(theta), by series where the difference cancels */
    double const t2 = theta * theta;
    double const tms = (fabs(theta) < 0.1)
        ? theta * t2 / 6.0 * (1.0 - t2 / 20.0 * (1.0 - t2 / 42.0 * (1.0 - t2 / 72.0 * (1.0 - t2 / 110.0))))
        : theta - s;
    op->c[0] = c;
    op->c[1] = (rc == 0.0) ? L : rc * s;
    op->c[2] = -rc * omc * ib;
    op->c[3] = -s * h;
    op->c[4] = -s * ib;
    op->c[5] = L;
    op->c[6] = L / (op->beta_gamma * op->beta_gamma) - rc * tms * ib * ib;
}

BT_FN void Sbend_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const* c = op->c;
    double const x = p->x, px = p->px, pt = p->pt;
    p->x = c[0] * x + c[1] * px + c[2] * pt;
    p->px = c[3] * x + c[0] * px + c[4] * pt;
    p->y += c[5] * p->py;
    p->t += -c[4] * x - c[2] * px + c[6] * pt;
}
#endif
