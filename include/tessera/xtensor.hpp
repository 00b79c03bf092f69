#pragma once
/// \file xtensor.hpp
/// Optional conversions between NDArray and xtensor (include explicitly; needs xtensor 0.24).
///
///     #include <tessera/xtensor.hpp>
///     xt::xarray<double> x = ts::to_xarray<double>(a.compute());   // any dtype, any strides
///     ts::NDArray b = ts::from_xexpression(xt::sin(x) * 2.0);        // float64 copy

#include <cstddef>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>

#include "tessera/ndarray.hpp"

namespace tessera {

/// A new xarray holding `a`'s elements converted to T (NDArray::astype rules).
/// Throws whatever astype throws (nothing for supported element types).
template <Element T>
xt::xarray<T> to_xarray(const NDArray& a) {
    const NDArray src = a.dtype() == dtype_of<T>() ? a.contiguous() : a.astype(dtype_of<T>());
    std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
    xt::xarray<T> out = xt::xarray<T>::from_shape(shape);
    if (src.size() > 0) {
        // The adaptor is row-major like NDArray's C order; assigning handles any layout of out.
        out = xt::adapt(src.template data<T>(), static_cast<std::size_t>(src.size()), xt::no_ownership(),
                        shape);
    }
    return out;
}

/// A new NDArray (C order) holding the evaluated expression; its dtype is
/// dtype_of<E::value_type>() (a compile error for value types that are not Tessera elements).
template <class E>
NDArray from_xexpression(const xt::xexpression<E>& expression) {
    using T = typename E::value_type;
    static_assert(Element<T>, "the expression's value_type is not a Tessera element type");
    const xt::xarray<T, xt::layout_type::row_major> values = expression.derived_cast();
    Shape shape(values.shape().begin(), values.shape().end());
    return NDArray::from_data(dtype_of<T>(), shape, values.data());
}

}  // namespace tessera
