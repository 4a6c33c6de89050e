/*
 * cbdiscod: registry client and peer discovery.
 */
#ifndef CBDISCOD_H
#define CBDISCOD_H

#include "proc.h"

/* Its own declarations join here as it grows beyond the child runtime. */

#endif /* CBDISCOD_H */
