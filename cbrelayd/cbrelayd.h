/*
 * cbrelayd: relay transport.
 */
#ifndef CBRELAYD_H
#define CBRELAYD_H

#include "proc.h"

/* Its own declarations join here as it grows beyond the child runtime. */

#endif /* CBRELAYD_H */
