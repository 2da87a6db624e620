#include "CBuildInfo.h"

// The version lives in a fixed-size, NUL-padded slot so a release can be stamped
// in place without rebuilding: `release bundle --version V` finds the prefix
// (which must occur exactly once) and overwrites the bytes after it. `volatile`
// and the out-of-line accessor keep the optimiser from folding the default
// string into callers, where patching could not reach it. The prefix must
// appear nowhere else in the binary, so no other code spells it as one literal.
#define MARKER_PREFIX "@@MOLECULE_TENANT_VERSION@@"
#define MARKER_SIZE 96

static volatile const char version_marker[MARKER_SIZE] = MARKER_PREFIX "0.1.0-dev";

const char *molecule_build_version(void) {
    return (const char *)version_marker + (sizeof(MARKER_PREFIX) - 1);
}
