/* ExactQuad: quadrupole with the exact (non-paraxial) Hamiltonian (ImpactX's ExactQuad).
 * H = H1 + H2 with H1 = (px^2 + py^2) / 2 + g (x^2 - y^2) / 2 + pt^2 / (2 beta^2 gamma^2) (the linear
 * quadrupole, solved exactly: map1) and H2 = H - H1 = -pz - pt/beta - (px^2 + py^2) / 2 - pt^2 / (2 (beta gamma)^2),
 * pz = sqrt((pt - 1/beta)^2 - 1/(beta gamma)^2 - px^2 - py^2) (a pure function of the momenta, exact: map2),
 * composed per slice by ImpactX's symplectic integrators (order 2: map1(dz/2) map2(dz) map1(dz/2); order 4:
 * Yoshida's with alpha = 1 - 2^(1/3); order 6: Yoshida's w0..w3), mapsteps steps per slice.
 * Formulas: ImpactX src/elements/ExactQuad.H, src/particles/integrators/Integrators.H (26.10). A particle
 * with no real pz (pz^2 <= 0) is lost; ImpactX lets it become NaN.
 * ExactQuad_g(op) [1/m^2] (k for unit 0, k / rigidity for unit 1; converted in Python), ExactQuad_int_order(op) (2,
 * 4, 6),
 * ExactQuad_mapsteps(op).
 */
#ifndef BEAMTRACK_EXACTQUAD_H
#define BEAMTRACK_EXACTQUAD_H
#include "beamtrack/engine/kernels/bt_common.h"
#include "beamtrack/engine/elements/c/symplectic.h"

/* c[0] = 1/(beta gamma)^2, c[1] = beta, c[2] = 1/beta, c[3] = omega = sqrt|g|, c[4] = sign of g */
BT_FN void ExactQuad_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const pt = op->pt_ref, g = ExactQuad_g(op);
    op->c[0] = 1.0 / (pt * pt - 1.0);
    op->c[1] = op->beta;
    op->c[2] = 1.0 / op->beta;
    op->c[3] = sqrt(fabs(g));
    op->c[4] = (g > 0.0) ? 1.0 : ((g < 0.0) ? -1.0 : 0.0);
}

/* exp(tau :H1:): x oscillates for g > 0 (y grows), the reverse for g < 0, a drift for g = 0 */
BT_FN void bt_exactquad_map1(const bt_op* op, const double* aux, double tau, bt_part* p)
{
    (void)aux;
    double const w = op->c[3], sg = op->c[4];
    p->t += tau * op->c[0] * p->pt;
    if (sg == 0.0) {
        p->x += tau * p->px;
        p->y += tau * p->py;
        return;
    }
    double const c = cos(w * tau), s = sin(w * tau), ch = cosh(w * tau), sh = sinh(w * tau);
    double qf, pf, qd, pd;  /* the focused and the defocused plane */
    if (sg > 0.0) { qf = p->x; pf = p->px; qd = p->y; pd = p->py; }
    else          { qf = p->y; pf = p->py; qd = p->x; pd = p->px; }
    double const qf1 = c * qf + s / w * pf, pf1 = -w * s * qf + c * pf;
    double const qd1 = ch * qd + sh / w * pd, pd1 = w * sh * qd + ch * pd;
    if (sg > 0.0) { p->x = qf1; p->px = pf1; p->y = qd1; p->py = pd1; }
    else          { p->y = qf1; p->py = pf1; p->x = qd1; p->px = pd1; }
}

/* exp(tau :H2:): momenta fixed */
BT_FN void bt_exactquad_map2(const bt_op* op, const double* aux, double tau, bt_part* p)
{
    (void)aux;
    double const ib = op->c[2];
    double const u = p->pt - ib;
    double const pz2 = u * u - op->c[0] - p->px * p->px - p->py * p->py;
    int const bad = !(pz2 > 0.0);
    double const ipz = bad ? 1.0 : 1.0 / sqrt(pz2);
    p->x += tau * p->px * (-1.0 + ipz);
    p->y += tau * p->py * (-1.0 + ipz);
    p->t += tau * (-ib - op->c[0] * p->pt + ipz * (1.0 - p->pt * op->c[1]) * ib);
    p->lost |= bad;
}

BT_FN void ExactQuad_push(const bt_op* op, const double* aux, bt_part* p)
{
    BT_SYMP_INTEGRATE(bt_exactquad_map1, bt_exactquad_map2, op, aux, p, (int)ExactQuad_int_order(op),
                      (int)ExactQuad_mapsteps(op), op->ds);
}
#endif
