/*
 * The suite's version, as cbp2p_build_info and cbedged's metrics say.
 */
#ifndef CBP2P_VERSION_H
#define CBP2P_VERSION_H

#define CBP2P_VERSION	"0.1.0"

#endif /* CBP2P_VERSION_H */
