#ifndef MOLECULE_CLIBPQ_SHIM_H
#define MOLECULE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
