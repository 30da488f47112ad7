/* Spin through the plasma lenses (ImpactX's spin_and_phasespace_push of TaperedPL and ChrPlasmaLens).
 * TaperedPL (thin): the kick first, then the Thomas-BMT rotation of its integrated field B L = (dpy, -dpx)
 * beta gamma_ref at the halfway momentum (the rule of the thin magnetic kicks, spin/thin.h).
 * ChrPlasmaLens (a slice of length L, focusing strength g [1/m^2], both planes): with the particle's
 * D = sqrt(1 - 2 pt/beta + pt^2), gamma_p = gamma (1 - beta pt), c = 1 + G gamma_p, w = sqrt(|g| / D):
 *   g > 0: lambda = c (py/D (1 - cos wL) + y w sin wL, -(px/D (1 - cos wL) + x w sin wL), 0),
 *   g < 0: lambda = c (-(py/D (cosh wL - 1) + y w sinh wL), px/D (cosh wL - 1) + x w sinh wL, 0),
 *   g = 0: none; of the entry coordinates, then the phase-space map.
 * Source: ImpactX src/elements/{TaperedPL,ChrPlasmaLens}.H (2026-06; checked per particle against ImpactX
 * 26.10 by tests/oracle/test_spin_oracle.py). */
#ifndef BEAMTRACK_SPIN_LENSES_H
#define BEAMTRACK_SPIN_LENSES_H
#include "beamtrack/engine/elements/c/spin/thin.h"
#include "beamtrack/engine/elements/c/chrplasmalens.h"
#include "beamtrack/engine/elements/c/taperedpl.h"

BT_FN void TaperedPL_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void TaperedPL_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const px0 = p->px, py0 = p->py;
    TaperedPL_push(op, aux, p);
    bt_spin_thin_kick(op, p, px0, py0, s);
}

BT_FN void ChrPlasmaLens_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void ChrPlasmaLens_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const g = ChrPlasmaLens_g(op), beta = op->beta, L = op->ds, pt = p->pt;
    double const iD = 1.0 / sqrt(1.0 - 2.0 * pt / beta + pt * pt);
    double const c = 1.0 + op->p[BT_P_GYRO] * op->gamma * (1.0 - beta * pt);
    double const w = sqrt(fabs(g) * iD), wl = w * L;
    if (g > 0.0) {
        double const omc = 1.0 - cos(wl), sn = sin(wl);
        bt_rotate_spin(c * (p->py * iD * omc + p->y * w * sn), -c * (p->px * iD * omc + p->x * w * sn), 0.0, s);
    } else if (g < 0.0) {
        double const chm = cosh(wl) - 1.0, sh = sinh(wl);
        bt_rotate_spin(-c * (p->py * iD * chm + p->y * w * sh), c * (p->px * iD * chm + p->x * w * sh), 0.0, s);
    }
    ChrPlasmaLens_push(op, aux, p);
}
#endif
