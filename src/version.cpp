// The version of the library actually linked.

#include "tessera/version.hpp"

namespace tessera {

static_assert(kVersionMajor == 0 && kVersionMinor == 1 && kVersionPatch == 0,
              "update the string returned by version()");

const char* version() { return "0.1.0"; }

}  // namespace tessera
