#pragma once
/// \file tessera.hpp
/// Umbrella header: everything a Tessera user needs.
///
///     #include <tessera/tessera.hpp>
///     namespace ts = tessera;

#include "tessera/array.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/chunks.hpp"
#include "tessera/config.hpp"
#include "tessera/dashboard.hpp"
#include "tessera/delayed.hpp"
#include "tessera/distributed.hpp"
#include "tessera/dtype.hpp"
#include "tessera/error.hpp"
#include "tessera/graph.hpp"
#include "tessera/ndarray.hpp"
#include "tessera/scheduler.hpp"
#include "tessera/shape.hpp"
#include "tessera/value.hpp"
#include "tessera/version.hpp"
#include "tessera/elementwise.hpp"
#include "tessera/reductions.hpp"
#include "tessera/indexing.hpp"
#include "tessera/custom.hpp"
#include "tessera/linalg.hpp"
#include "tessera/io.hpp"
#include "tessera/netcdf.hpp"
#include "tessera/futures.hpp"
