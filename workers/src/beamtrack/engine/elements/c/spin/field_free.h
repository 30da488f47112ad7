/* Spin through the elements whose spin map is the identity in ImpactX: Drift, ChrDrift, ExactDrift,
 * ConstF (no magnetic or electric field on the particle: no Thomas-BMT precession), Aperture, LinearMap
 * (ImpactX leaves the spin unaffected; measured on ImpactX 26.10 with a non-identity R).
 * Source: ImpactX src/elements/{Drift,ChrDrift,ExactDrift,ConstF,Aperture,LinearMap}.H spin_and_phasespace_push. */
#ifndef BEAMTRACK_SPIN_FIELD_FREE_H
#define BEAMTRACK_SPIN_FIELD_FREE_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/aperture.h"
#include "beamtrack/engine/elements/c/chrdrift.h"
#include "beamtrack/engine/elements/c/constf.h"
#include "beamtrack/engine/elements/c/drift.h"
#include "beamtrack/engine/elements/c/exactdrift.h"
#include "beamtrack/engine/elements/c/linearmap.h"

BT_SPIN_IDENTITY(Drift)
BT_SPIN_IDENTITY(ChrDrift)
BT_SPIN_IDENTITY(ExactDrift)
BT_SPIN_IDENTITY(ConstF)
BT_SPIN_IDENTITY(Aperture)
BT_SPIN_IDENTITY(LinearMap)
#endif
