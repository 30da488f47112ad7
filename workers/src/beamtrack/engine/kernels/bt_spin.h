/* Spin tracking helpers of the spin kernels (kernel config spin = true; ImpactX's SpinTransport mixin).
 *
 * The spin (sx, sy, sz) lives in rows 7..9 of the particle block. An element class NAME with spin
 * tracking has a header (KernelClass.spin_header) defining
 *   BT_FN void NAME_spin_setup(bt_op* op, const double* aux);     after NAME_setup: spin coefficients
 *   BT_FN void NAME_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s);
 * which rotates the spin and pushes the phase space of one slice, in ImpactX's order
 * (spin_and_phasespace_push). The reference's gyromagnetic anomaly G reaches the kernel in
 * op->p[BT_P_GYRO], set by the tracking loop of a spin run (no element uses that parameter slot).
 *
 * Rotation: the axis-angle vector lambda (|lambda| = angle [rad], direction = axis) as a unit
 * quaternion, w0 = cos(|lambda|/2), w = -sin(|lambda|/2) lambda / |lambda|, applied as ImpactX's
 * rotate_spin; the Thomas-BMT precession vector in the Frenet-Serret frame of a reference orbit of
 * curvature h as ImpactX's tbmt_precession_vector. Source: ImpactX src/elements/mixin/spintransport.H,
 * src/elements/mixin/alignment.H (rotate_in / rotate_out); J. D. Jackson, Classical Electrodynamics,
 * 3rd ed., eq. (11.170).
 */
#ifndef BEAMTRACK_BT_SPIN_H
#define BEAMTRACK_BT_SPIN_H
#include "beamtrack/engine/kernels/bt_common.h"

#define BT_P_GYRO (BT_NPARAM - 1)

typedef struct {
    double sx, sy, sz;
} bt_spin;

/* rotate s by the axis-angle vector (lx, ly, lz) [rad] */
BT_FN void bt_rotate_spin(double lx, double ly, double lz, bt_spin* s)
{
    double const angle = sqrt(lx * lx + ly * ly + lz * lz);
    double const w0 = cos(0.5 * angle);
    double const f = (angle != 0.0) ? -sin(0.5 * angle) / angle : 0.0;
    double const w1 = lx * f, w2 = ly * f, w3 = lz * f;
    double const sx = s->sx, sy = s->sy, sz = s->sz;
    s->sx = (1.0 - 2.0 * (w2 * w2 + w3 * w3)) * sx + 2.0 * (w1 * w2 + w0 * w3) * sy + 2.0 * (w1 * w3 - w0 * w2) * sz;
    s->sy = 2.0 * (w1 * w2 - w0 * w3) * sx + (1.0 - 2.0 * (w1 * w1 + w3 * w3)) * sy + 2.0 * (w0 * w1 + w2 * w3) * sz;
    s->sz = 2.0 * (w0 * w2 + w1 * w3) * sx + 2.0 * (w2 * w3 - w0 * w1) * sy + (1.0 - 2.0 * (w1 * w1 + w2 * w2)) * sz;
}

/* the transverse roll of a misaligned element applied to the spin (ImpactX's Alignment::rotate_in/out) */
BT_FN void bt_spin_in(const bt_op* op, bt_spin* s)
{
    double const c = op->cos_rot, sn = op->sin_rot, sx = s->sx, sy = s->sy;
    s->sx = sx * c + sy * sn;
    s->sy = -sx * sn + sy * c;
}

BT_FN void bt_spin_out(const bt_op* op, bt_spin* s)
{
    double const c = op->cos_rot, sn = op->sin_rot, sx = s->sx, sy = s->sy;
    s->sx = sx * c - sy * sn;
    s->sy = sx * sn + sy * c;
}

/* Thomas-BMT precession vector Omega [1/m] (or, for integrated fields, the rotation angle): velocity
 * direction (ux, uy, uz), gamma of the particle, orbit curvature h [1/m], anomaly G; B normalised by
 * q / (m c), E by q / (m c^2) (both 1/m). */
BT_FN void bt_tbmt(double x, double ux, double uy, double uz, double gamma, double h, double G,
                   double Bx, double By, double Bz, double Ex, double Ey, double Ez, double* om)
{
    double const bg = sqrt(gamma * gamma - 1.0);
    double const lead = -(1.0 + h * x) / (uz * bg);
    double const udotB = ux * Bx + uy * By + uz * Bz;
    double const cx = uy * Ez - uz * Ey, cy = uz * Ex - ux * Ez, cz = ux * Ey - uy * Ex;
    double const c1 = 1.0 + G * gamma;
    double const c2 = G * (gamma - 1.0) * udotB;
    double const c3 = (G + 1.0 / (1.0 + gamma)) * bg;
    om[0] = lead * (c1 * Bx - c2 * ux - c3 * cx);
    om[1] = lead * (c1 * By - c2 * uy - c3 * cy) + h;
    om[2] = lead * (c1 * Bz - c2 * uz - c3 * cz);
}

/* elements that leave the spin alone (drifts, constant focusing, apertures, LinearMap) */
#define BT_SPIN_IDENTITY(NAME)                                                                  \
    BT_FN void NAME##_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }        \
    BT_FN void NAME##_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)    \
    {                                                                                          \
        (void)s;                                                                               \
        NAME##_push(op, aux, p);                                                               \
    }

#endif
