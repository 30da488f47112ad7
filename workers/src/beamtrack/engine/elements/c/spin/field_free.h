/* Spin through the elements whose spin map is the identity in ImpactX: Drift, ChrDrift, ExactDrift,
 * ConstF (no magnetic or electric field on the particle: no Thomas-BMT precession), Aperture, PolygonAperture; and the
 * LinearMap op's (kernels/select.py names this header for it), whose push lives in spin/linearmap.h
 * (identity for a user LinearMap, the spin-orbit coupling of the integrated maps' slices).
 * Source: ImpactX src/elements/{Drift,ChrDrift,ExactDrift,ConstF,Aperture,PolygonAperture}.H spin_and_phasespace_push. */
#ifndef BEAMTRACK_SPIN_FIELD_FREE_H
#define BEAMTRACK_SPIN_FIELD_FREE_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/aperture.h"
#include "beamtrack/engine/elements/c/chrdrift.h"
#include "beamtrack/engine/elements/c/constf.h"
#include "beamtrack/engine/elements/c/drift.h"
#include "beamtrack/engine/elements/c/exactdrift.h"
#include "beamtrack/engine/elements/c/polygonaperture.h"
#include "beamtrack/engine/elements/c/spin/linearmap.h"

BT_SPIN_IDENTITY(Drift)
BT_SPIN_IDENTITY(ChrDrift)
BT_SPIN_IDENTITY(ExactDrift)
BT_SPIN_IDENTITY(ConstF)
BT_SPIN_IDENTITY(Aperture)
BT_SPIN_IDENTITY(PolygonAperture)
#endif
