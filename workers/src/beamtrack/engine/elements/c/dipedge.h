/* DipEdge, linear model: thin edge focusing of a bend (ImpactX's DipEdge, model "linear").
 * p[0] = psi [rad] (pole-face angle), p[1] = rc [m], p[2] = g [m] (gap), p[3] = K2 (fringe integral).
 *   px += tan(psi)/rc x,   py += ((1 + sin^2 psi)/cos^3 psi g K2/rc^2 - tan(psi)/rc) y
 * (K. L. Brown, SLAC-75 (1982), to first order in g/rc). Source: ImpactX src/elements/DipEdge.H.
 */
#ifndef BEAMTRACK_DIPEDGE_H
#define BEAMTRACK_DIPEDGE_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void DipEdge_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const psi = op->p[0], rc = op->p[1], g = op->p[2], K2 = op->p[3];
    double const s = sin(psi), c = cos(psi);
    op->c[0] = tan(psi) / rc;
    op->c[1] = (1.0 + s * s) / (c * c * c) * g * K2 / (rc * rc) - op->c[0];
}

BT_FN void DipEdge_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    p->px += op->c[0] * p->x;
    p->py += op->c[1] * p->y;
}
#endif
