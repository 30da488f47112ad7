/* QuadEdge: hard-edge quadrupole fringe field, third order, chromatic (ImpactX's QuadEdge; E. Forest and
 * J. Milutinovic, NIM A 269, 474 (1988), eq. 28, in ImpactX's explicit symplectified form).
 * With a = flag (-g / 12) / D (flag +1 entry, -1 exit), D = sqrt(1 - 2 pt/beta + pt^2):
 *   x' = x - a (x^3 + 3 x y^2), y' = y + a (3 x^2 y + y^3),
 *   px' = (px + 3 a px (x^2 + y^2) - 6 a py x y) / N, py' = (py - 3 a py (x^2 + y^2) + 6 a px x y) / N,
 *   N = 1 - 9 a^2 (x^2 - y^2)^2,
 *   t' = t + a (px' (x^3 + 3 x y^2) - py' (y^3 + 3 x^2 y)) (pt - 1/beta) / D^2.
 * Formulas: ImpactX src/elements/QuadEdge.H (26.10).
 * QuadEdge_g(op) [1/m^2] (k for unit 0, k / rigidity for unit 1; converted in Python), QuadEdge_flag(op) (+1, -1).
 */
#ifndef BEAMTRACK_QUADEDGE_H
#define BEAMTRACK_QUADEDGE_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = 1/beta, c[1] = flag (-g / 12) */
BT_FN void QuadEdge_setup(bt_op* op, const double* aux)
{
    (void)aux;
    op->c[0] = 1.0 / op->beta;
    op->c[1] = QuadEdge_flag(op) * (-QuadEdge_g(op) / 12.0);
}

BT_FN void QuadEdge_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const ib = op->c[0];
    double const x = p->x, y = p->y, px = p->px, py = p->py, pt = p->pt;
    double const D = sqrt(1.0 - 2.0 * pt * ib + pt * pt);
    double const a = op->c[1] / D;
    double const x2my2 = x * x - y * y, x2py2 = x * x + y * y;
    double const N = 1.0 - 9.0 * a * a * x2my2 * x2my2;
    double const fx = x * x * x + 3.0 * x * y * y, fy = y * y * y + 3.0 * x * x * y;
    double const pxo = (px + 3.0 * a * px * x2py2 - 6.0 * a * py * x * y) / N;
    double const pyo = (py - 3.0 * a * py * x2py2 + 6.0 * a * px * x * y) / N;
    p->x = x - a * fx;
    p->y = y + a * fy;
    p->px = pxo;
    p->py = pyo;
    p->t = p->t + a * (pxo * fx - pyo * fy) * (pt - ib) / (D * D);
}
#endif
