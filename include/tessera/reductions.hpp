#pragma once
/// \file reductions.hpp
/// Reductions beyond array.hpp's core set, with NumPy 1.24 semantics: arg* (tree reductions of
/// (value, global index) pairs), cumulative scans (per-block scans plus carried block totals, as
/// in Dask), order statistics (median / quantile / percentile: the reduced axes are rechunked to
/// one block, then every block is reduced exactly), moments, weighted averages.
///
///     auto i = ts::argmax(x, 1);                        // int64, x's axis 1 removed
///     auto c = ts::cumsum(x, 0);                        // same shape, int8 -> int64 like NumPy
///     auto q = ts::quantile(x, {0.25, 0.75}, {0, 1});   // leading axis of length 2

#include <cstdint>
#include <optional>
#include <vector>

#include "tessera/array.hpp"

namespace tessera {

// ------------------------------------------------------------------------------ arg reductions

/// Index of the minimum along `axis`, or into the flattened array when `axis` is unset (int64).
/// Ties give the first index; a NaN counts as the extreme (the first NaN's index), like NumPy.
/// Options used: keepdims, split_every. Throws AxisError for a bad axis, ValueError
/// "attempt to get argmin of an empty sequence along axis 0" (or without " along axis N" when
/// flattened) for an empty reduced extent, NotImplemented for complex input or a dtype option.
///
///     ts::argmin(x);        // 0-d: flattened index
///     ts::argmin(x, -1, {.keepdims = true});
Array argmin(const Array& a, std::optional<std::int64_t> axis = std::nullopt, const ReduceOptions& options = {});
/// Like argmin for the maximum.
Array argmax(const Array& a, std::optional<std::int64_t> axis = std::nullopt, const ReduceOptions& options = {});
/// argmin ignoring NaN. A slice of only NaN fails at compute time with ValueError
/// "All-NaN slice encountered in nanargmin along axis 1" (" along axis N" only when an axis was
/// given); the task key is put before the message by the scheduler.
Array nanargmin(const Array& a, std::optional<std::int64_t> axis = std::nullopt, const ReduceOptions& options = {});
/// argmax ignoring NaN (errors as nanargmin).
Array nanargmax(const Array& a, std::optional<std::int64_t> axis = std::nullopt, const ReduceOptions& options = {});

// ------------------------------------------------------------------------------ scans

/// Cumulative sum along `axis` (flattened when unset, like NumPy). The dtype is `dtype` or
/// NumPy's: bool and signed integers -> int64, unsigned -> uint64, floats and complex kept.
/// Each block is scanned on its own and the running totals of the previous blocks along `axis`
/// are carried in (no rechunk). Throws AxisError for a bad axis, NotImplemented for a bool
/// `dtype`.
///
///     ts::cumsum(x, 1);                 // same shape as x
///     ts::cumsum(x);                    // 1-d, x.size() elements
Array cumsum(const Array& a, std::optional<std::int64_t> axis = std::nullopt,
             std::optional<DType> dtype = std::nullopt);
/// Cumulative product (dtype rules and errors as cumsum).
Array cumprod(const Array& a, std::optional<std::int64_t> axis = std::nullopt,
              std::optional<DType> dtype = std::nullopt);
/// cumsum with NaN counted as 0.
Array nancumsum(const Array& a, std::optional<std::int64_t> axis = std::nullopt,
                std::optional<DType> dtype = std::nullopt);
/// cumprod with NaN counted as 1.
Array nancumprod(const Array& a, std::optional<std::int64_t> axis = std::nullopt,
                 std::optional<DType> dtype = std::nullopt);

// ------------------------------------------------------------------------------ composed

/// Number of non-zero elements (int64): sum(a != 0). Options used: keepdims. NotImplemented for
/// complex input.
Array count_nonzero(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
/// Product treating NaN as 1 (options as prod); NotImplemented for complex input.
Array nanprod(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
/// Peak to peak, max - min in the input dtype (integers wrap like NumPy). Options used: keepdims.
/// Throws as min/max, and DTypeError for bool input (NumPy's "numpy boolean subtract ..." text).
Array ptp(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
/// Central moment of order `order` like dask.array.moment: Σ(a - mean)^order / (n - ddof), in
/// var's dtype (float64, float32 for float32). Options used: keepdims, ddof. Order 0 gives ones
/// and order 1 zeros (float64). Throws ValueError "Order must be an integer >= 0".
Array moment(const Array& a, std::int64_t order, const Axes& axis = {}, const ReduceOptions& options = {});
/// np.average: the mean, or Σ a·w / Σ w with `weights` of a's shape or, for one `axis`, 1-d of
/// that axis' length. Throws ShapeError with NumPy's texts ("Axis must be specified when shapes
/// of a and weights differ.", "1D weights expected when shapes of a and weights differ.",
/// "Length of weights not compatible with specified axis."), NotImplemented for several axes with
/// 1-d weights; weights summing to zero fail at compute time with ValueError
/// "Weights sum to zero, can't be normalized" (NumPy's ZeroDivisionError).
Array average(const Array& a, const Axes& axis = {}, const std::optional<Array>& weights = std::nullopt,
              bool keepdims = false);

// ------------------------------------------------------------------------------ order statistics

/// Options of quantile-like reductions. Only NumPy's default method, "linear", is implemented.
struct QuantileOptions {
    bool keepdims = false;
};

/// Quantile(s) q in [0, 1] along `axis` (one, several or all axes) with NumPy's 'linear'
/// method; a slice containing NaN gives NaN. A list `q` puts a leading axis of len(q) in front
/// of the result. The reduced axes are rechunked to a single block first (as in Dask), so each
/// output block is computed exactly from one input block. Result dtype float64 (also for
/// float32, as NumPy 1.24). Integer inputs are interpolated in float64 (NumPy 1.24 subtracts in
/// the integer dtype and may wrap). Throws ValueError "Quantiles must be in the range [0, 1]",
/// IndexError "cannot do a non-empty take from an empty axes." for an empty reduced extent,
/// AxisError, DTypeError for bool or complex input.
///
///     ts::quantile(x, 0.5, 0);
///     ts::quantile(x, {0.1, 0.9}, {-2, -1}, {.keepdims = true});
Array quantile(const Array& a, double q, const Axes& axis = {}, const QuantileOptions& options = {});
Array quantile(const Array& a, const std::vector<double>& q, const Axes& axis = {},
               const QuantileOptions& options = {});
/// quantile with q in percent; ValueError "Percentiles must be in the range [0, 100]".
Array percentile(const Array& a, double q, const Axes& axis = {}, const QuantileOptions& options = {});
Array percentile(const Array& a, const std::vector<double>& q, const Axes& axis = {},
                 const QuantileOptions& options = {});
/// quantile ignoring NaN; an all-NaN (or empty) slice gives NaN.
Array nanquantile(const Array& a, double q, const Axes& axis = {}, const QuantileOptions& options = {});
Array nanquantile(const Array& a, const std::vector<double>& q, const Axes& axis = {},
                  const QuantileOptions& options = {});
Array nanpercentile(const Array& a, double q, const Axes& axis = {}, const QuantileOptions& options = {});
Array nanpercentile(const Array& a, const std::vector<double>& q, const Axes& axis = {},
                    const QuantileOptions& options = {});
/// np.median: the middle value, or the mean of the two middle values; NaN when the slice holds
/// NaN or is empty. dtype float64, float32 kept. DTypeError for bool or complex input.
Array median(const Array& a, const Axes& axis = {}, const QuantileOptions& options = {});
/// median ignoring NaN (NaN for all-NaN slices).
Array nanmedian(const Array& a, const Axes& axis = {}, const QuantileOptions& options = {});

}  // namespace tessera
