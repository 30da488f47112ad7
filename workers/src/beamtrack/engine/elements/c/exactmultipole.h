/* ExactMultipole: thick multipole with the exact Hamiltonian (ImpactX's ExactMultipole).
 * H = H1 + H2, H1 = -pt/beta - pz (the exact drift, pz = sqrt((pt - 1/beta)^2 - 1/(beta gamma)^2 - px^2 - py^2):
 * map1), H2 the multipole potential: exp(tau :H2:) kicks px - i py by -tau sum_m (kn_m + i ks_m) (x + i y)^m / m!
 * (m = 0 dipole, 1 quadrupole, ...; kn_m, ks_m in 1/m^(m+1), or T/m^m divided by the rigidity for unit 1:
 * map2), composed by ImpactX's symplectic integrators (symplectic.h). Formulas: ImpactX
 * src/elements/ExactMultipole.H (26.10). A particle with no real pz is lost (ImpactX: NaN).
 * ExactMultipole_int_order(op), ExactMultipole_mapsteps(op),
 * ExactMultipole_scale(op) = 1 / rigidity for unit 1 else 1; aux: the n k_normal then the
 * n k_skew values.
 */
#ifndef BEAMTRACK_EXACTMULTIPOLE_H
#define BEAMTRACK_EXACTMULTIPOLE_H
#include "beamtrack/engine/kernels/bt_common.h"
#include "beamtrack/engine/elements/c/symplectic.h"

/* c[0] = 1/(beta gamma)^2, c[1] = 1/beta */
BT_FN void ExactMultipole_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const pt = op->pt_ref;
    op->c[0] = 1.0 / (pt * pt - 1.0);
    op->c[1] = 1.0 / op->beta;
}

BT_FN void bt_exactmultipole_map1(const bt_op* op, const double* aux, double tau, bt_part* p)
{
    (void)aux;
    double const ib = op->c[1];
    double const u = p->pt - ib;
    double const pz2 = u * u - op->c[0] - p->px * p->px - p->py * p->py;
    int const bad = !(pz2 > 0.0);
    double const ipz = bad ? 0.0 : 1.0 / sqrt(pz2);
    p->x += tau * p->px * ipz;
    p->y += tau * p->py * ipz;
    p->t -= tau * (ib + u * ipz);
    p->lost |= bad;
}

BT_FN void bt_exactmultipole_map2(const bt_op* op, const double* aux, double tau, bt_part* p)
{
    int64_t const n = op->aux_len / 2;
    const double* kn = aux + op->aux_offset;
    const double* ks = kn + n;
    double const scale = ExactMultipole_scale(op);
    double zr = 1.0, zi = 0.0, fact = 1.0, dpx = 0.0, dpy = 0.0;  /* (x + i y)^m, m! */
    for (int64_t m = 0; m < n; ++m) {
        double const ar = kn[m] * scale, ai = ks[m] * scale;
        dpx -= (zr * ar - zi * ai) / fact;
        dpy += (zr * ai + zi * ar) / fact;
        double const r = zr * p->x - zi * p->y;
        zi = zr * p->y + zi * p->x;
        zr = r;
        fact *= (double)(m + 1);
    }
    p->px += tau * dpx;
    p->py += tau * dpy;
}

BT_FN void ExactMultipole_push(const bt_op* op, const double* aux, bt_part* p)
{
    BT_SYMP_INTEGRATE(bt_exactmultipole_map1, bt_exactmultipole_map2, op, aux, p, (int)ExactMultipole_int_order(op),
                      (int)ExactMultipole_mapsteps(op),
                      op->ds);
}
#endif
