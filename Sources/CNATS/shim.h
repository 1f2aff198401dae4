#ifndef CNATS_SHIM_H
#define CNATS_SHIM_H
// The official NATS C client (Debian: libnats-dev). Only ConvoStoreCluster's NATS/ folder imports it.
#include <nats/nats.h>
#endif
