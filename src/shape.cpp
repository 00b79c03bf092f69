// Shapes, strides, axis normalization and NumPy broadcasting.

#include "tessera/shape.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera {

std::string shape_str(std::span<const std::int64_t> shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

std::int64_t shape_size(std::span<const std::int64_t> shape) {
    std::int64_t size = 1;
    for (std::int64_t extent : shape) size *= extent;
    return size;
}

std::vector<std::int64_t> c_strides(std::span<const std::int64_t> shape) {
    std::vector<std::int64_t> strides(shape.size());
    std::int64_t stride = 1;
    for (size_t axis = shape.size(); axis-- > 0;) {
        strides[axis] = stride;
        stride *= shape[axis];
    }
    return strides;
}

std::int64_t normalize_axis(std::int64_t axis, std::int64_t ndim) {
    if (axis < -ndim || axis >= ndim)
        throw AxisError("axis {} is out of bounds for array of dimension {}", axis, ndim);
    return axis < 0 ? axis + ndim : axis;
}

std::vector<std::int64_t> normalize_axes(std::span<const std::int64_t> axes, std::int64_t ndim) {
    std::vector<std::int64_t> out;
    out.reserve(axes.size());
    for (std::int64_t axis : axes) {
        const std::int64_t normal = normalize_axis(axis, ndim);
        if (std::find(out.begin(), out.end(), normal) != out.end())
            throw AxisError("repeated axis {} in {}", normal, shape_str(axes));
        out.push_back(normal);
    }
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

// Broadcasts `shape` into `out` (aligned on the right); false when they are incompatible.
// -1 is an unknown extent (after boolean masking): like Dask, it broadcasts with anything and
// stays unknown.
bool broadcast_into(Shape& out, std::span<const std::int64_t> shape) {
    if (shape.size() > out.size()) out.insert(out.begin(), shape.size() - out.size(), 1);
    const size_t offset = out.size() - shape.size();
    for (size_t axis = 0; axis < shape.size(); ++axis) {
        std::int64_t& have = out[offset + axis];
        const std::int64_t extent = shape[axis];
        if (have == -1 || extent == -1)
            have = -1;
        else if (have == 1)
            have = extent;
        else if (extent != 1 && extent != have)
            return false;
    }
    return true;
}

}  // namespace

Shape broadcast_shapes(std::span<const std::int64_t> a, std::span<const std::int64_t> b) {
    Shape out(a.begin(), a.end());
    if (!broadcast_into(out, b))
        throw ShapeError("operands could not be broadcast together with shapes {} {}",
                         shape_str(a), shape_str(b));
    return out;
}

Shape broadcast_shapes(std::span<const Shape> shapes) {
    Shape out;
    for (const Shape& shape : shapes) {
        if (!broadcast_into(out, shape)) {
            std::vector<std::string> texts;
            for (const Shape& s : shapes) texts.push_back(shape_str(s));
            throw ShapeError("operands could not be broadcast together with shapes {}",
                             fmt::join(texts, " "));
        }
    }
    return out;
}

std::vector<std::int64_t> normalize_permutation(std::span<const std::int64_t> axes, std::int64_t n) {
    std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
    if (axes.empty()) {
        for (std::int64_t axis = 0; axis < n; ++axis) perm[static_cast<std::size_t>(axis)] = n - 1 - axis;
    } else {
        if (static_cast<std::int64_t>(axes.size()) != n)
            throw AxisError("axes {} don't match array of dimension {}", shape_str(axes), n);
        std::vector<bool> seen(static_cast<std::size_t>(n), false);
        for (std::size_t k = 0; k < axes.size(); ++k) {
            const std::int64_t axis = normalize_axis(axes[k], n);
            if (seen[static_cast<std::size_t>(axis)])
                throw AxisError("repeated axis {} in transpose axes {}", axes[k], shape_str(axes));
            seen[static_cast<std::size_t>(axis)] = true;
            perm[k] = axis;
        }
    }
    return perm;
}

Shape resolve_reshape(const Shape& shape, std::int64_t size) {
    Shape resolved = shape;
    std::int64_t unknown = -1, known = 1;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (shape[axis] == -1) {
            if (unknown >= 0) throw ValueError("can only specify one unknown dimension in shape {}", shape_str(shape));
            unknown = static_cast<std::int64_t>(axis);
        } else if (shape[axis] < 0) {
            throw ValueError("negative dimensions are not allowed in shape {}", shape_str(shape));
        } else {
            known *= shape[axis];
        }
    }
    if (unknown >= 0) {
        if (known == 0 || size % known != 0)
            throw ShapeError("cannot reshape array of size {} into shape {}", size, shape_str(shape));
        resolved[static_cast<std::size_t>(unknown)] = size / known;
    } else if (known != size) {
        throw ShapeError("cannot reshape array of size {} into shape {}", size, shape_str(shape));
    }
    return resolved;
}

}  // namespace tessera
