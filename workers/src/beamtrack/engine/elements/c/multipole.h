/* Multipole (thin, any order; ImpactX's Multipole): with m the multipole index (1 dipole, 2 quad,
 * 3 sextupole, ...), dpx - i dpy = -(K_normal + i K_skew) (x + i y)^(m-1) / (m-1)!
 * (the MAD-X MULTIPOLE thin kick with KNL[m-1], KSL[m-1]).
 * Source: ImpactX src/elements/Multipole.H. Multipole_multipole(op) = m, Multipole_K_normal(op),
 * Multipole_K_skew(op). */
#ifndef BEAMTRACK_MULTIPOLE_H
#define BEAMTRACK_MULTIPOLE_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = 1 / (m-1)!, c[1] = m - 1 (power of the complex position) */
BT_FN void Multipole_setup(bt_op* op, const double* aux)
{
    (void)aux;
    int const n = (int)Multipole_multipole(op) - 1;
    double f = 1.0;
    for (int i = 2; i <= n; ++i) f *= (double)i;
    op->c[0] = 1.0 / f;
    op->c[1] = (double)n;
}

BT_FN void Multipole_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    int const n = (int)op->c[1];
    double const x = p->x, y = p->y;
    double zr = 1.0, zi = 0.0;
    for (int i = 0; i < n; ++i) {
        double const r = zr * x - zi * y;
        zi = zr * y + zi * x;
        zr = r;
    }
    double const kn = Multipole_K_normal(op), ks = Multipole_K_skew(op);
    double const kr = zr * kn - zi * ks, ki = zr * ks + zi * kn;
    p->px -= kr * op->c[0];
    p->py += ki * op->c[0];
}
#endif
