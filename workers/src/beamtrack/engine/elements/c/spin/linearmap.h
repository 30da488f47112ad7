/* Spin through a LinearMap op: the user LinearMap (ImpactX leaves the spin alone: measured on ImpactX 26.10
 * with a non-identity R) and the slices of the maps integrated along the reference orbit (SoftSolenoid,
 * SoftQuadrupole, RFCavity), whose ImpactX spin push is: first the rotation lambda = A z of the orbit
 * z = (x, px, y, py, t, pt), then the reference rotation v, then the slice's linear map. A (3x6, row-major)
 * and v (3) are integrated along the reference orbit with the map (fieldmaps.py, rf.py) and reach the
 * kernel in aux: 21 values at op->aux_offset when op->aux_len == 21; a user LinearMap has none.
 * Source: ImpactX src/elements/{LinearMap,SoftSol,SoftQuad,RFCavity}.H spin_and_phasespace_push. */
#ifndef BEAMTRACK_SPIN_LINEARMAP_H
#define BEAMTRACK_SPIN_LINEARMAP_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/linearmap.h"
#include "beamtrack/engine/elements/c/spin/coupling.h"

#define BT_SPIN_COUPLING_LEN 21

BT_FN void LinearMap_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void LinearMap_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    if (op->aux_len == BT_SPIN_COUPLING_LEN) {
        double const* A = aux + op->aux_offset;
        double const* v = A + 18;
        bt_spin_orbit_rotation(A, p, s);
        bt_rotate_spin(v[0], v[1], v[2], s);
    }
    LinearMap_push(op, aux, p);
}
#endif
