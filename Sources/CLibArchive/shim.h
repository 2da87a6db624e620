#ifndef MOLECULE_CLIBARCHIVE_SHIM_H
#define MOLECULE_CLIBARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
