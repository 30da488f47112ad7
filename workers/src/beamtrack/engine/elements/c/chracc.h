/* ChrAcc: uniform acceleration with chromatic effects and a uniform solenoid field (ImpactX's ChrAcc).
 * ez = q Ez / (m c^2), bz = q Bz / (m c) [1/m]. Per slice the reference goes from pt_i = pt_f + ez ds to
 * pt_f (op->pt_ref is the reference after the slice, as ImpactX pushes the reference first). The
 * momenta are taken to units of m c by the entry beta gamma, the exact map is applied in the frame
 * rotating with the Larmor angle theta = (bz / 2) ln((pz_f - pt_f) / (pz_i - pt_i)) / ez (transverse
 * focusing by alpha = bz / 2, then the rotation by theta), t gains
 * (pz_f - pz_f,ref - pz_i + pz_i,ref) / ez + (1/pz_i - 1/pz_f) ((py - alpha x)^2 + (px + alpha y)^2) / (2 ez),
 * and the momenta go back to units of the exit reference momentum. A particle whose pt_i or pt_f
 * (total) has |pt| <= 1 (no forward motion) is lost. bz = 0: the limit sin(theta)/alpha -> theta/alpha.
 * Formulas: ImpactX src/elements/ChrUniformAcc.H (26.10).
 * ChrAcc_ez(op), ChrAcc_bz(op) [1/m].
 */
#ifndef BEAMTRACK_CHRACC_H
#define BEAMTRACK_CHRACC_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = pt_f,ref, c[1] = pt_i,ref, c[2] = bg_f, c[3] = bg_i, c[4] = alpha, c[5] = alpha / ez,
 * c[6] = 1 / alpha (0 if alpha = 0), c[7] = 1 if alpha == 0 else 0 */
BT_FN void ChrAcc_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const ez = ChrAcc_ez(op), bz = ChrAcc_bz(op);
    double const ptf = op->pt_ref, pti = ptf + ez * op->ds;
    op->c[0] = ptf;
    op->c[1] = pti;
    op->c[2] = sqrt(ptf * ptf - 1.0);
    op->c[3] = sqrt(pti * pti - 1.0);
    op->c[4] = 0.5 * bz;
    op->c[5] = 0.5 * bz / ez;
    op->c[6] = (bz == 0.0) ? 0.0 : 1.0 / (0.5 * bz);
    op->c[7] = (bz == 0.0) ? 1.0 : 0.0;
}

BT_FN void ChrAcc_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const ez = ChrAcc_ez(op);
    double const ptf_ref = op->c[0], pti_ref = op->c[1], bgf = op->c[2], bgi = op->c[3];
    double const alpha = op->c[4];
    double const px = p->px * bgi, py = p->py * bgi, pt = p->pt * bgi;
    double const pti = pti_ref + pt, ptf = ptf_ref + pt;
    int const bad = !(pti * pti > 1.0 && ptf * ptf > 1.0);
    double const pzi = sqrt(bad ? 2.0 : pti * pti - 1.0);
    double const pzf = sqrt(bad ? 2.0 : ptf * ptf - 1.0);
    double const pzi_ref = bgi, pzf_ref = bgf;
    double const lnr = log((pzf - ptf) / (pzi - pti));
    double const theta = op->c[5] * lnr;
    double const st = sin(theta), ct = cos(theta);
    /* sin(theta) / alpha, and its limit ln(..)/ez for alpha = 0 */
    double const sa = st * op->c[6] + op->c[7] * lnr / ez;
    double const x1 = ct * p->x + sa * px, px1 = -alpha * st * p->x + ct * px;
    double const y1 = ct * p->y + sa * py, py1 = -alpha * st * p->y + ct * py;
    double const dt = (pzf - pzf_ref - pzi + pzi_ref) / ez
                      + (1.0 / pzi - 1.0 / pzf) * ((py - alpha * p->x) * (py - alpha * p->x)
                                                   + (px + alpha * p->y) * (px + alpha * p->y)) / (2.0 * ez);
    p->x = ct * x1 + st * y1;
    p->y = -st * x1 + ct * y1;
    p->px = (ct * px1 + st * py1) / bgf;
    p->py = (-st * px1 + ct * py1) / bgf;
    p->t = p->t + dt;
    p->pt = pt / bgf;
    p->lost |= bad;
}
#endif
