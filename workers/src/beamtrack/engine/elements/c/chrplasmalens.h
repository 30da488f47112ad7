/* ChrPlasmaLens: active cylindrically symmetric plasma lens with chromatic focusing (ImpactX's ChrPlasmaLens).
 * H = -pt/beta - D + (px^2 + py^2) / (2 D) + g (x^2 + y^2) / 2, D = sqrt(1 - 2 pt/beta + pt^2);
 * both planes oscillate (g > 0) or grow (g < 0) with omega^2 = |g| / D, w = omega D; t advances by
 * -(pt + (D - 1)/beta) L / D plus the integral of the transverse terms of dH/dpt in closed form;
 * g == 0 is the chromatic drift. Formulas: ImpactX src/elements/ChrPlasmaLens.H (26.10).
 * ChrPlasmaLens_g(op) [1/m^2] (k for unit 0, k / rigidity for unit 1; converted in Python).
 */
#ifndef BEAMTRACK_CHRPLASMALENS_H
#define BEAMTRACK_CHRPLASMALENS_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = beta, c[1] = g, c[2] = |g|, c[3] = sign of g (+1, -1, 0), c[4] = 1 / (2 beta^3 gamma^2), c[5] = gamma^2 */
BT_FN void ChrPlasmaLens_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const g = ChrPlasmaLens_g(op), b = op->beta;
    op->c[0] = b;
    op->c[1] = g;
    op->c[2] = fabs(g);
    op->c[3] = (g > 0.0) ? 1.0 : ((g < 0.0) ? -1.0 : 0.0);
    op->c[4] = 1.0 / (2.0 * b * b * b * op->gamma * op->gamma);
    op->c[5] = op->gamma * op->gamma;
}

BT_FN void ChrPlasmaLens_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const L = op->ds, b = op->c[0], sg = op->c[3];
    double const x = p->x, y = p->y, px = p->px, py = p->py, pt = p->pt;
    double const D = sqrt(1.0 - 2.0 * pt / b + pt * pt);
    if (sg == 0.0) {
        double term = 2.0 * pt * pt + px * px + py * py;
        term = 2.0 - 4.0 * b * pt + b * b * term;
        term = -2.0 + op->c[5] * term;
        term = (-1.0 + b * pt) * term * op->c[4];
        p->x = x + px * L / D;
        p->y = y + py * L / D;
        p->t = p->t - L * (1.0 / b + term / (D * D * D));
        return;
    }
    double const omega = sqrt(op->c[2] / D);
    double const w = omega * D;
    double const phi = omega * L;
    /* sg = +1: (C, S) = (cos, sin) of phi; sg = -1: (cosh, sinh); C2, S2 the same at 2 phi */
    double C, S, C2, S2;
    if (sg > 0.0) {
        S = sin(phi); C = cos(phi); S2 = sin(2.0 * phi); C2 = cos(2.0 * phi);
    } else {
        S = sinh(phi); C = cosh(phi); S2 = sinh(2.0 * phi); C2 = cosh(2.0 * phi);
    }
    p->x = C * x + S / w * px;
    p->px = -sg * w * S * x + C * px;
    p->y = C * y + S / w * py;
    p->py = -sg * w * S * y + C * py;
    double const t0 = p->t - (pt + (D - 1.0) / b) * L / D;
    double const w2 = w * w;
    double const terms = -(py * py - sg * y * y * w2) * S2 - (px * px - sg * x * x * w2) * S2
                         - 2.0 * y * py * w * C2 - 2.0 * x * px * w * C2
                         + 2.0 * omega * (x * px * D + y * py * D - (px * px + py * py) * L
                                          - sg * (x * x + y * y) * w2 * L);
    p->t = t0 + (-1.0 + b * pt) / (8.0 * b * D * D * D * omega) * terms;
}
#endif
