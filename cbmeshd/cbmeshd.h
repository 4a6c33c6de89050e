/*
 * cbmeshd: topology, path choice and health checks.
 */
#ifndef CBMESHD_H
#define CBMESHD_H

#include "proc.h"

/* Its own declarations join here as it grows beyond the child runtime. */

#endif /* CBMESHD_H */
