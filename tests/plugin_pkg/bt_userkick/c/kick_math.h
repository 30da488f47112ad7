/* Helper of the UserKick plugin: add a kick to a momentum (kept apart to show nested plugin includes). */
#ifndef BT_USERKICK_KICK_MATH_H
#define BT_USERKICK_KICK_MATH_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN double userkick_add(double p, double kick)
{
    return p + kick;
}
#endif
