/* Quad (linear quadrupole, ImpactX's Quad): k [1/m^2] > 0 focuses in x, defocuses in y; t as a drift.
 * Source: ImpactX src/elements/Quad.H. Quad_k(op). */
#ifndef BEAMTRACK_QUAD_H
#define BEAMTRACK_QUAD_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0..3]: x-plane 2x2 map (row-major), c[4..7]: y-plane, c[8]: R56-like t-pt term. */
BT_FN void Quad_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const k = Quad_k(op), L = op->ds;
    double const w = sqrt(fabs(k));
    double f[4] = {1.0, L, 0.0, 1.0}, d[4] = {1.0, L, 0.0, 1.0};
    if (w > 0.0) {
        double const cw = cos(w * L), sw = sin(w * L), ch = cosh(w * L), sh = sinh(w * L);
        f[0] = cw; f[1] = sw / w; f[2] = -w * sw; f[3] = cw;
        d[0] = ch; d[1] = sh / w; d[2] = w * sh; d[3] = ch;
    }
    double const* mx = (k >= 0.0) ? f : d;
    double const* my = (k >= 0.0) ? d : f;
    for (int i = 0; i < 4; ++i) {
        op->c[i] = mx[i];
        op->c[4 + i] = my[i];
    }
    op->c[8] = L / (op->beta_gamma * op->beta_gamma);
}

BT_FN void Quad_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const* c = op->c;
    double const x = p->x, px = p->px, y = p->y, py = p->py;
    p->x = c[0] * x + c[1] * px;
    p->px = c[2] * x + c[3] * px;
    p->y = c[4] * y + c[5] * py;
    p->py = c[6] * y + c[7] * py;
    p->t += c[8] * p->pt;
}
#endif
