#ifndef MOLECULE_CBUILDINFO_H
#define MOLECULE_CBUILDINFO_H

/// The version stamped into this binary: the text after the marker prefix, up to the first NUL.
const char *molecule_build_version(void);

#endif
