#define _GNU_SOURCE
#include <spawn.h>
#include "CSocketHandover.h"

// Swift cannot see this GNU extension through Glibc's module map.
int molecule_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}
