#ifndef MOLECULE_CSOCKETHANDOVER_H
#define MOLECULE_CSOCKETHANDOVER_H
#include <spawn.h>

/// Adds "close every descriptor from `lowest` up" to `actions` (glibc 2.34+), so a successor
/// inherits only the descriptors it is handed, never the old process's client connections.
/// Returns 0, or an errno value.
int molecule_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

#endif
