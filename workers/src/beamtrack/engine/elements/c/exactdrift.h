/* ExactDrift: drift with the exact (non-paraxial) Hamiltonian (ImpactX's ExactDrift).
 * H = -pt/beta - pz, pz = sqrt((1/beta - pt)^2 - 1/(beta gamma)^2 - px^2 - py^2).
 * Source: ImpactX src/elements/ExactDrift.H. The t update (1/beta - pt)/pz - 1/beta is written as
 *   (pt (2/beta - pt) / gamma^2 + px^2 + py^2) / (beta pz (beta (1/beta - pt) + pz))
 * (no cancellation). A particle with pz^2 <= 0 (no real forward motion) is lost; ImpactX lets it
 * become NaN.
 */
#ifndef BEAMTRACK_EXACTDRIFT_H
#define BEAMTRACK_EXACTDRIFT_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = 1/beta, c[1] = 1/gamma^2, c[2] = beta, c[3] = 1/(beta gamma)^2 */
BT_FN void ExactDrift_setup(bt_op* op, const double* aux)
{
    (void)aux;
    op->c[0] = 1.0 / op->beta;
    op->c[1] = 1.0 / (op->gamma * op->gamma);
    op->c[2] = op->beta;
    op->c[3] = 1.0 / (op->beta_gamma * op->beta_gamma);
}

BT_FN void ExactDrift_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const L = op->ds, ib = op->c[0], b = op->c[2];
    double const u = ib - p->pt;
    double const pperp2 = p->px * p->px + p->py * p->py;
    double const pz2 = u * u - op->c[3] - pperp2;
    int const bad = !(pz2 > 0.0);
    double const pz = sqrt(bad ? 1.0 : pz2);
    double const ipz = bad ? 0.0 : 1.0 / pz;
    double const dt = (p->pt * (2.0 * ib - p->pt) * op->c[1] + pperp2) * ib * ipz / (b * u + pz);
    p->x += L * p->px * ipz;
    p->y += L * p->py * ipz;
    p->t += L * dt;
    p->lost |= bad;
}
#endif
