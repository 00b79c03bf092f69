#pragma once
/// \file version.hpp
/// The library version (also checked in the distributed handshake).

namespace tessera {
inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;
/// "0.1.0" of the library actually linked (may differ from the headers').
const char* version();
}  // namespace tessera
