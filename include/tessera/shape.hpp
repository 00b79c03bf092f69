#pragma once
/// \file shape.hpp
/// Shapes, strides and axis helpers. Every extent, index and count is std::int64_t.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace tessera {

using Shape = std::vector<std::int64_t>;
using Index = std::vector<std::int64_t>;

/// NumPy-style text: "(3, 4)", "(5,)", "()".
std::string shape_str(std::span<const std::int64_t> shape);
/// Product of the extents (1 for a 0-d shape).
std::int64_t shape_size(std::span<const std::int64_t> shape);
/// C-order strides in elements for `shape`.
std::vector<std::int64_t> c_strides(std::span<const std::int64_t> shape);

/// Normalizes a possibly negative axis against `ndim`; throws AxisError
/// ("axis 3 is out of bounds for array of dimension 2") otherwise.
std::int64_t normalize_axis(std::int64_t axis, std::int64_t ndim);
/// Normalizes and sorts a list of axes; AxisError when out of range or repeated
/// "repeated axis 1 in (1, -1)").
std::vector<std::int64_t> normalize_axes(std::span<const std::int64_t> axes, std::int64_t ndim);
/// The axis permutation of a transpose (empty `axes` reverses them); AxisError
/// ("axes (0,) don't match array of dimension 2", "repeated axis 1 in transpose axes (1, 1)").
std::vector<std::int64_t> normalize_permutation(std::span<const std::int64_t> axes, std::int64_t ndim);
/// The target shape of a reshape of `size` elements, with one -1 resolved; ValueError for
/// several -1 or negative extents, ShapeError "cannot reshape array of size 6 into shape (4,)".
Shape resolve_reshape(const Shape& shape, std::int64_t size);

/// NumPy broadcasting of two shapes; throws ShapeError
/// ("operands could not be broadcast together with shapes (3, 4) (5,)"). An unknown extent
/// (-1, after boolean masking) broadcasts with anything and stays unknown, as in Dask.
Shape broadcast_shapes(std::span<const std::int64_t> a, std::span<const std::int64_t> b);
/// Broadcast of any number of shapes (same message listing all shapes).
Shape broadcast_shapes(std::span<const Shape> shapes);

}  // namespace tessera
