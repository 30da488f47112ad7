/* Sol (ideal hard-edge solenoid, entrance and exit fringe fields included; ImpactX's Sol):
 * in canonical coordinates the slice map is a focusing in both planes followed by a rotation
 * by theta = ks L / 2:
 *   focusing: u' = cos(theta) u + sin(theta) / alpha pu, pu' = -alpha sin(theta) u + cos(theta) pu
 *   (alpha = ks / 2, u = x, y), t' = t + L / bg^2 pt;
 *   rotation: x' = cos x + sin y, y' = -sin x + cos y (the same for px, py).
 * ks -> 0: sin(theta) / alpha -> L (the drift). Source: ImpactX src/elements/Sol.H;
 * A. Chao et al., Handbook of Accelerator Physics and Engineering, solenoid matrix. Sol_ks(op) [1/m]. */
#ifndef BEAMTRACK_SOL_H
#define BEAMTRACK_SOL_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = cos(theta), c[1] = sin(theta), c[2] = sin(theta) / alpha, c[3] = -alpha sin(theta), c[4] = L / bg^2 */
BT_FN void Sol_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const L = op->ds, alpha = 0.5 * Sol_ks(op), theta = alpha * L;
    op->c[0] = cos(theta);
    op->c[1] = sin(theta);
    op->c[2] = (alpha != 0.0) ? sin(theta) / alpha : L;
    op->c[3] = -alpha * sin(theta);
    op->c[4] = L / (op->beta_gamma * op->beta_gamma);
}

BT_FN void Sol_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const* c = op->c;
    double const x = c[0] * p->x + c[2] * p->px;
    double const px = c[3] * p->x + c[0] * p->px;
    double const y = c[0] * p->y + c[2] * p->py;
    double const py = c[3] * p->y + c[0] * p->py;
    p->t += c[4] * p->pt;
    p->x = c[0] * x + c[1] * y;
    p->px = c[0] * px + c[1] * py;
    p->y = -c[1] * x + c[0] * y;
    p->py = -c[1] * px + c[0] * py;
}
#endif
