/* Spin through the thin RF gaps Buncher and ShortRF (ImpactX 26.10's spin_and_phasespace_push; their 26.10
 * sources are not public, the maps were identified on ImpactX 26.10 itself: per particle, the rotation taken
 * from the images of three basis spins, agreeing to ~1e-19 rad for protons at 250 MeV and electrons at 2 GeV,
 * against 1e-9..4e-7 for the alternatives tried (entry or exit momentum, the field of a magnetic kick only, the
 * exact integral of the acceleration); tests/oracle/test_spin_oracle.py). The Thomas-BMT vector is bt_tbmt's
 * (h = 0), of integrated fields [normalised by q / (m c) and q / (m c^2)].
 *
 * Buncher: the phase-space kick first, then one rotation at the halfway state of the kick (px, py, pt halfway,
 * gamma_p = gamma (1 - beta pt), u = (px, py, ps) / P, P = sqrt(1 - 2 pt/beta + pt^2)) by the magnetic field
 * of the transverse kick, B L = (dpy, -dpx, 0) beta gamma_ref (as the thin magnetic kicks), and the
 * longitudinal electric field of the energy kick, E_z L = -dpt beta gamma_ref.
 * ShortRF: half the energy gain E_z L = V cos(k t + phi) as a longitudinal field at the entry state, the
 * phase-space map, the other half at the exit state; a state is the particle's energy E = gamma_ref - pt bg_ref
 * [m c^2] (entry: the reference before the gap, exit: after it) with the transverse momenta (px, py) bg_ref
 * [m c], which the gap leaves unchanged, u = (px, py) bg_ref / sqrt(E^2 - 1). */
#ifndef BEAMTRACK_SPIN_RF_H
#define BEAMTRACK_SPIN_RF_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/buncher.h"
#include "beamtrack/engine/elements/c/shortrf.h"

BT_FN void Buncher_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void Buncher_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const x = p->x, px0 = p->px, py0 = p->py, pt0 = p->pt;
    Buncher_push(op, aux, p);
    double const beta = op->beta, bg = op->beta_gamma;
    double const dpx = p->px - px0, dpy = p->py - py0, dpt = p->pt - pt0;
    double const pxm = px0 + 0.5 * dpx, pym = py0 + 0.5 * dpy, ptm = pt0 + 0.5 * dpt;
    double const P = sqrt(1.0 - 2.0 * ptm / beta + ptm * ptm), iP = 1.0 / P;
    double const ps = sqrt(P * P - pxm * pxm - pym * pym);
    double om[3];
    bt_tbmt(x, pxm * iP, pym * iP, ps * iP, op->gamma * (1.0 - beta * ptm), 0.0, op->p[BT_P_GYRO], dpy * bg,
            -dpx * bg, 0.0, 0.0, 0.0, -dpt * bg, om);
    bt_rotate_spin(om[0], om[1], om[2], s);
}

/* the rotation by half the gap's field for a particle of energy E [m c^2] and transverse momenta pxd, pyd [m c] */
BT_FN void bt_spin_gap_half(const bt_op* op, double x, double E, double pxd, double pyd, double half_ez, bt_spin* s)
{
    double const ip = 1.0 / sqrt(E * E - 1.0), ux = pxd * ip, uy = pyd * ip;
    double om[3];
    bt_tbmt(x, ux, uy, sqrt(1.0 - ux * ux - uy * uy), E, 0.0, op->p[BT_P_GYRO], 0.0, 0.0, 0.0, 0.0, 0.0, half_ez, om);
    bt_rotate_spin(om[0], om[1], om[2], s);
}

BT_FN void ShortRF_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void ShortRF_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    /* c[2] = V cos(phi), c[3] = bgi, c[4] = 1 / bgf (ShortRF_setup); op->pt_ref = the reference after the gap */
    double const gf = -op->pt_ref, gi = gf - op->c[2], bgi = op->c[3], bgf = 1.0 / op->c[4];
    double const x = p->x, pxd = p->px * bgi, pyd = p->py * bgi;
    double const half_ez = 0.5 * ShortRF_V(op) * cos(op->c[0] * p->t + op->c[1]);
    bt_spin_gap_half(op, x, gi - p->pt * bgi, pxd, pyd, half_ez, s);
    ShortRF_push(op, aux, p);
    bt_spin_gap_half(op, x, gf - p->pt * bgf, pxd, pyd, half_ez, s);
}
#endif
