// Tests of Buffer, NDArray, Value and the xtensor conversions.

#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>
#include <vector>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>

#include "src/dispatch.hpp"
#include "tessera/ndarray.hpp"
#include "tessera/value.hpp"
#include "tessera/xtensor.hpp"

namespace ts = tessera;
using ts::NDArray;
using ts::Index;
using ts::Shape;

namespace test_ndarray {
struct Point {
    int x = 0, y = 0;
};
struct Other {};
}  // namespace test_ndarray

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Resident set size of this process in bytes.
std::int64_t rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::int64_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * 4096;
}

// An int64 array of `shape` whose element at (i, j, k, ...) is the number with digits i j k...
NDArray digits_array(const Shape& shape) {
    NDArray a = NDArray::empty(ts::int64, shape);
    auto* p = a.data<std::int64_t>();
    const std::int64_t n = a.size();
    for (std::int64_t flat = 0; flat < n; ++flat) {
        std::int64_t rest = flat, value = 0, scale = 1;
        for (std::size_t axis = shape.size(); axis-- > 0;) {
            value += (rest % shape[axis]) * scale;
            rest /= shape[axis];
            scale *= 10;
        }
        p[flat] = value;
    }
    return a;
}

// Sample values of each element type (including its extremes).
template <class T>
std::vector<T> samples() {
    if constexpr (std::is_same_v<T, bool>) {
        return {false, true, true, false};
    } else if constexpr (std::is_integral_v<T>) {
        std::vector<T> out{T(0), T(1), T(2), T(100), T(127), std::numeric_limits<T>::max(),
                           std::numeric_limits<T>::min()};
        if constexpr (std::is_signed_v<T>) out.insert(out.end(), {T(-1), T(-128)});
        return out;
    } else if constexpr (std::is_floating_point_v<T>) {
        return {T(0), T(1), T(2.75), T(-3.5), T(100.25), T(126.9), T(-0.5), T(-127.99)};
    } else {
        return {T(1, 2), T(0, 0), T(-3.5, 1), T(100.25, -7), T(0, 5)};
    }
}

// The reference conversion, written independently of element_cast for values whose C++
// conversion is defined (floats within the int32 range): truncate to int64, then wrap.
template <class To, class From>
To reference_cast(From v) {
    if constexpr (ts::is_complex_v<From>) {
        if constexpr (ts::is_complex_v<To>) {
            return To(static_cast<typename To::value_type>(v.real()),
                      static_cast<typename To::value_type>(v.imag()));
        } else if constexpr (std::is_same_v<To, bool>) {
            return v.real() != 0 || v.imag() != 0;
        } else {
            return reference_cast<To>(v.real());
        }
    } else if constexpr (ts::is_complex_v<To>) {
        return To(reference_cast<typename To::value_type>(v), 0);
    } else if constexpr (std::is_same_v<To, bool>) {
        return v != 0;
    } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
        return static_cast<To>(static_cast<std::int64_t>(v));
    } else {
        return static_cast<To>(v);
    }
}

template <class T>
bool same_value(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) return a == b || (std::isnan(a) && std::isnan(b));
    else return a == b;
}

// Copies `view` and checks every element of the copy (and of an int64 conversion) against
// element access through the view's own strides.
void check_copy_matches_view(const NDArray& view) {
    const NDArray c = view.copy();
    const NDArray i64 = view.astype(ts::int64);
    REQUIRE(c.is_contiguous());
    REQUIRE(c.shape() == view.shape());
    Index index(view.shape().size(), 0);
    for (std::int64_t flat = 0; flat < view.size(); ++flat) {
        std::int64_t rest = flat;
        for (std::size_t axis = index.size(); axis-- > 0;) {
            index[axis] = rest % view.shape()[axis];
            rest /= view.shape()[axis];
        }
        const double expected = view.at<double>(index);
        CHECK(c.data<double>()[flat] == expected);
        CHECK(i64.data<std::int64_t>()[flat] == static_cast<std::int64_t>(expected));
    }
}

}  // namespace

// --- Buffer ------------------------------------------------------------------------------------

TEST_CASE("buffers are 64-byte aligned, zeroed on request, and counted while alive") {
    const std::int64_t count0 = ts::Buffer::live_count(), bytes0 = ts::Buffer::live_bytes();
    {
        std::vector<std::shared_ptr<ts::Buffer>> buffers;
        for (std::int64_t n : {0, 1, 63, 64, 65, 1000, (1 << 20) + 3}) {
            buffers.push_back(ts::Buffer::allocate(n));
            buffers.push_back(ts::Buffer::zeros(n));
        }
        std::int64_t expected_bytes = 0;
        for (const auto& b : buffers) {
            CHECK(reinterpret_cast<std::uintptr_t>(b->data()) % 64 == 0);
            CHECK(b->owns_memory());
            expected_bytes += b->nbytes();
        }
        for (std::size_t k = 1; k < buffers.size(); k += 2) {
            const auto* p = buffers[k]->data();
            CHECK(std::all_of(p, p + buffers[k]->nbytes(), [](std::byte x) { return x == std::byte{0}; }));
        }
        CHECK(ts::Buffer::live_count() == count0 + 14);
        CHECK(ts::Buffer::live_bytes() == bytes0 + expected_bytes);
        buffers.pop_back();
        CHECK(ts::Buffer::live_count() == count0 + 13);
        CHECK(ts::Buffer::live_bytes() == bytes0 + expected_bytes - ((1 << 20) + 3));
    }
    CHECK(ts::Buffer::live_count() == count0);
    CHECK(ts::Buffer::live_bytes() == bytes0);
    CHECK_THROWS_WITH_AS(ts::Buffer::allocate(-1), "cannot allocate a buffer of negative size -1",
                         ts::ValueError);
}

TEST_CASE("wrapped buffers count as alive, own no bytes and release keep_alive") {
    const std::int64_t count0 = ts::Buffer::live_count(), bytes0 = ts::Buffer::live_bytes();
    auto storage = std::make_shared<std::vector<double>>(10, 1.5);
    std::weak_ptr<std::vector<double>> watch = storage;
    {
        NDArray a = NDArray::wrap(ts::float64, {2, 5}, storage->data(), storage);
        storage.reset();
        CHECK_FALSE(watch.expired());
        CHECK(ts::Buffer::live_count() == count0 + 1);
        CHECK(ts::Buffer::live_bytes() == bytes0);
        CHECK_FALSE(a.buffer()->owns_memory());
        CHECK(a.raw_data() == watch.lock()->data());
        a.set({1, 4}, 7.0);
        CHECK((*watch.lock())[9] == 7.0);
        NDArray b = a;  // views share the buffer
        CHECK(a.buffer().use_count() == 2);
    }
    CHECK(watch.expired());
    CHECK(ts::Buffer::live_count() == count0);
}

TEST_CASE("huge allocations do not touch their pages") {
    constexpr std::int64_t kGiB = std::int64_t{1} << 30;
    const std::int64_t before = rss_bytes();
    auto raw = ts::Buffer::allocate(kGiB);
    auto zero = ts::Buffer::zeros(kGiB);
    NDArray z = NDArray::zeros(ts::float64, {kGiB / 8});
    NDArray f = NDArray::full(ts::int32, {kGiB / 4}, 0);
    CHECK(rss_bytes() - before < 64 * (std::int64_t{1} << 20));
    CHECK(f.at<int>({12345}) == 0);
    CHECK(z.at<double>({kGiB / 8 - 1}) == 0.0);
    CHECK(reinterpret_cast<std::uintptr_t>(zero->data()) % 64 == 0);
}

TEST_CASE("a freed large block's mapping serves the next block of its size; zeros stay zero") {
    constexpr std::int64_t kMiB = std::int64_t{1} << 20;
    auto a = ts::Buffer::allocate(9 * kMiB);
    std::byte* first = a->data();
    CHECK(reinterpret_cast<std::uintptr_t>(first) % (2 * kMiB) == 0);  // huge-page aligned
    std::memset(first, 0x7f, static_cast<std::size_t>(9 * kMiB));
    a.reset();
    auto b = ts::Buffer::allocate(9 * kMiB + 1000);  // the same size class (whole huge pages)
    CHECK(b->data() == first);
    CHECK(b->nbytes() == 9 * kMiB + 1000);
    // zeros() never takes a reused (dirty) mapping.
    const NDArray z = NDArray::zeros(ts::uint8, {9 * kMiB});
    std::int64_t nonzero = 0;
    for (std::int64_t k = 0; k < z.size(); ++k) nonzero += z.data<std::uint8_t>()[k] != 0;
    CHECK(nonzero == 0);
}

// --- NDArray basics ----------------------------------------------------------------------------

TEST_CASE("default NDArray is an empty float64 vector") {
    NDArray a;
    CHECK(a.dtype() == ts::float64);
    CHECK(a.shape() == Shape{0});
    CHECK(a.size() == 0);
    CHECK(a.ndim() == 1);
    CHECK(a.is_contiguous());
    CHECK(a.repr() == "array([], dtype=float64)");
    CHECK(a.copy().shape() == Shape{0});
    CHECK(a.equals(NDArray::zeros(ts::float64, {0})));
}

TEST_CASE_TEMPLATE("every dtype round trips through from_data, at, set and item", T, bool, std::int8_t,
                   std::int16_t, std::int32_t, std::int64_t, std::uint8_t, std::uint16_t, std::uint32_t,
                   std::uint64_t, float, double, std::complex<float>, std::complex<double>) {
    const std::vector<T> values = samples<T>();
    const auto n = static_cast<std::int64_t>(values.size());
    std::unique_ptr<T[]> raw(new T[values.size()]);
    std::copy(values.begin(), values.end(), raw.get());
    NDArray a = NDArray::from_data(ts::dtype_of<T>(), {n}, raw.get());
    CHECK(a.dtype() == ts::dtype_of<T>());
    CHECK(a.nbytes() == n * static_cast<std::int64_t>(sizeof(T)));
    CHECK(a.raw_data() != raw.get());  // a copy
    for (std::int64_t k = 0; k < n; ++k) {
        CHECK(a.at<T>({k}) == values[k]);
        CHECK(a.data<T>()[k] == values[k]);
        CHECK(a.get_scalar(std::vector<std::int64_t>{k}).dtype() == ts::dtype_of<T>());
        CHECK(a.at<T>({k - n}) == values[k]);  // negative indices count from the end
    }
    NDArray b = NDArray::from_vector(values);
    CHECK(b.equals(a));
    for (std::int64_t k = 0; k < n; ++k) b.set({k}, ts::to_scalar<T>(values[n - 1 - k]));
    for (std::int64_t k = 0; k < n; ++k) CHECK(b.at<T>({k}) == values[n - 1 - k]);
    CHECK(a.at<T>({0}) == values[0]);  // b was a separate copy

    NDArray one = NDArray::from_data(ts::dtype_of<T>(), {1, 1}, raw.get() + 1);
    CHECK(one.item<T>() == values[1]);
    CHECK(one.item_scalar() == ts::to_scalar<T>(values[1]));
    NDArray s = NDArray::scalar(ts::to_scalar<T>(values[2]));
    CHECK(s.ndim() == 0);
    CHECK(s.dtype() == ts::dtype_of<T>());
    CHECK(s.item<T>() == values[2]);
    NDArray f = NDArray::full(ts::dtype_of<T>(), {2, 3}, ts::to_scalar<T>(values[1]));
    for (std::int64_t k = 0; k < 6; ++k) CHECK(f.data<T>()[k] == values[1]);
    CHECK(NDArray::zeros(ts::dtype_of<T>(), {3}).template at<T>({2}) == T{});

    const ts::DType other = ts::dtype_of<T>() == ts::int8 ? ts::int16 : ts::int8;
    CHECK_THROWS_WITH_AS(a.astype(other).template data<T>(),
                         fmt::format("array of dtype {} accessed as {}", other, ts::dtype_of<T>()).c_str(),
                         ts::DTypeError);
}

TEST_CASE("element access errors") {
    NDArray v = NDArray::zeros(ts::float64, {3});
    NDArray m = NDArray::zeros(ts::int32, {2, 3});
    CHECK_THROWS_WITH_AS(v.at<double>({5}), "index 5 is out of bounds for axis 0 with size 3", ts::IndexError);
    CHECK_THROWS_WITH_AS(v.at<double>({-4}), "index -4 is out of bounds for axis 0 with size 3", ts::IndexError);
    CHECK_THROWS_WITH_AS(m.at<int>({1, 3}), "index 3 is out of bounds for axis 1 with size 3", ts::IndexError);
    CHECK_THROWS_WITH_AS(m.set({2, 0}, 1), "index 2 is out of bounds for axis 0 with size 2", ts::IndexError);
    CHECK_THROWS_WITH_AS(m.at<int>({0, 0, 0}),
                         "too many indices for array: array is 2-dimensional, but 3 were indexed",
                         ts::IndexError);
    CHECK_THROWS_WITH_AS(m.at<int>({0}),
                         "not enough indices for array: array is 2-dimensional, but 1 were indexed",
                         ts::IndexError);
    CHECK_THROWS_WITH_AS(v.item<double>(), "can only convert an array of size 1 to a Python scalar",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(NDArray::zeros(ts::float64, {0}).item<double>(),
                         "can only convert an array of size 1 to a Python scalar", ts::ValueError);
    CHECK_THROWS_WITH_AS(m.data<float>(), "array of dtype int32 accessed as float32", ts::DTypeError);
    CHECK_THROWS_WITH_AS(NDArray::zeros(ts::float64, {2, -1}),
                         "negative dimensions are not allowed in shape (2, -1)", ts::ValueError);
    CHECK_THROWS_WITH_AS(NDArray(ts::float64, {3}, {1}, 8, ts::Buffer::allocate(16)),
                         "view of shape (3,) with strides (1,) at offset 8 does not fit in a buffer of 16 bytes",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(NDArray(ts::float64, {3}, {1, 1}, 0, ts::Buffer::allocate(24)),
                         "strides (1, 1) do not match shape (3,)", ts::ShapeError);
    CHECK(m.shape(-1) == 3);
    CHECK_THROWS_WITH_AS(m.shape(2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
}

TEST_CASE("0-d arrays") {
    NDArray s = NDArray::scalar(3.5);
    CHECK(s.shape().empty());
    CHECK(s.size() == 1);
    CHECK(s.is_contiguous());
    CHECK(s.at<double>(std::span<const std::int64_t>{}) == 3.5);
    s.set(std::span<const std::int64_t>{}, 2);
    CHECK(s.item<double>() == 2.0);
    CHECK(s.copy().equals(s));
    CHECK(s.astype(ts::int8).item_scalar() == ts::Scalar(std::int64_t{2}, ts::int8));
    CHECK(s.reshape({1, 1}).shape() == Shape{1, 1});
    CHECK(s.reshape({1, 1}).reshape({}).item<double>() == 2.0);
    CHECK(s.transpose().shape().empty());
    CHECK(s.repr() == "array(2., dtype=float64)");
    CHECK(NDArray::scalar(7, ts::uint16).repr() == "array(7, dtype=uint16)");
    CHECK_THROWS_WITH_AS(s.slice(0, 0, 1), "axis 0 is out of bounds for array of dimension 0", ts::AxisError);
    CHECK_THROWS_WITH_AS(s.at<double>({0}),
                         "too many indices for array: array is 0-dimensional, but 1 were indexed",
                         ts::IndexError);
    NDArray t = NDArray::zeros(ts::float64, {});
    t.assign(s);
    CHECK(t.item<double>() == 2.0);
    CHECK_FALSE(t.equals(s.astype(ts::float32)));  // dtypes differ
}

TEST_CASE("empty arrays") {
    NDArray e = NDArray::zeros(ts::float32, {0, 3});
    CHECK(e.size() == 0);
    CHECK(e.nbytes() == 0);
    CHECK(e.is_contiguous());
    CHECK(e.copy().shape() == Shape{0, 3});
    CHECK(e.astype(ts::complex128).dtype() == ts::complex128);
    CHECK(e.transpose().shape() == Shape{3, 0});
    CHECK(e.transpose().copy().shape() == Shape{3, 0});
    CHECK(e.reshape({3, 0, 5}).shape() == Shape{3, 0, 5});
    CHECK(e.reshape({-1}).shape() == Shape{0});
    CHECK(e.slice(1, 1, 3).shape() == Shape{0, 2});
    CHECK(e.repr() == "array([], shape=(0, 3), dtype=float32)");
    CHECK(e.equals(NDArray::empty(ts::float32, {0, 3})));
    CHECK_FALSE(e.equals(NDArray::empty(ts::float32, {3, 0})));
    NDArray target = NDArray::empty(ts::int8, {0, 3});
    target.assign(e);
    target.assign_region(std::vector<std::int64_t>{0, 1}, NDArray::zeros(ts::int8, {0, 2}));
    NDArray v = NDArray::from_vector(std::vector<double>{1, 2, 3});
    CHECK(v.slice(0, 2, 1).shape() == Shape{0});
    CHECK(v.slice(0, 1, 2, -1).shape() == Shape{0});
    CHECK(v.slice(0, 5, 9).shape() == Shape{0});
    CHECK(v.slice(0, 2, 2).copy().size() == 0);
    CHECK(NDArray::from_vector(std::vector<double>{}).shape() == Shape{0});
    CHECK(NDArray::from_vector(std::vector<int>{1, 2, 3, 4, 5, 6}, {2, 3}).at<int>({1, 0}) == 4);
    CHECK_THROWS_WITH_AS(NDArray::from_vector(std::vector<int>{1, 2, 3}, {2, 2}),
                         "cannot make an array of shape (2, 2) from 3 values", ts::ShapeError);
}

// --- Conversions -------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("astype between every pair of dtypes matches a reference loop", From, bool, std::int8_t,
                   std::int16_t, std::int32_t, std::int64_t, std::uint8_t, std::uint16_t,
                   std::uint32_t, std::uint64_t, float, double, std::complex<float>,
                   std::complex<double>) {
    const std::vector<From> values = samples<From>();
    const auto n = static_cast<std::int64_t>(values.size());
    NDArray a = NDArray::from_vector(values);
    // The same values reversed through a negative-step view: exercises the strided path.
    NDArray reversed = NDArray::from_vector(values).slice(0, -1, std::numeric_limits<std::int64_t>::min(), -1);
    for (int id = 0; id < ts::kNumDTypes; ++id) {
        const ts::DType to{static_cast<ts::DTypeId>(id)};
        ts::visit_dtype(to, [&](auto tag) {
            using To = typename decltype(tag)::type;
            CAPTURE(to);
            NDArray b = a.astype(to);
            NDArray r = reversed.astype(to);
            REQUIRE(b.dtype() == to);
            REQUIRE(b.shape() == Shape{n});
            CHECK(b.buffer() != a.buffer());
            for (std::int64_t k = 0; k < n; ++k) {
                const To expected = reference_cast<To>(values[static_cast<std::size_t>(k)]);
                CHECK(same_value(b.data<To>()[k], expected));
                CHECK(same_value(r.data<To>()[n - 1 - k], expected));
            }
            NDArray into = NDArray::zeros(to, {n});
            into.assign(a);
            CHECK(into.equals(b));
        });
    }
}

TEST_CASE_TEMPLATE("float to integer conversions of NaN, inf and out-of-range values are defined", F, float,
                   double) {
    const double two63 = 9223372036854775808.0;
    const std::vector<double> src{kNaN, kInf, -kInf, 1e20, -1e20, 3e9, -1.0, 300.0, two63, 1.8e19};
    NDArray a = NDArray::from_vector(std::vector<double>(src)).astype(ts::dtype_of<F>());
    // float32 rounds 1.8e19; the expected value below is that of the float32 value.
    const bool f32 = std::is_same_v<F, float>;
    const std::uint64_t u18 = f32 ? 18000000404716257280ull : 18000000000000000000ull;
    const std::int64_t i3e9 = 3000000000;  // exact in float32 too
    const std::int64_t m64 = std::numeric_limits<std::int64_t>::min();
    const std::int32_t m32 = std::numeric_limits<std::int32_t>::min();
    // x86 results: NaN/inf/out of range give INT_MIN of the 32- or 64-bit conversion, which
    // narrower types truncate (int8/int16/uint8/uint16 via int32, uint32 via int64).
    CHECK(a.astype(ts::int64).equals(NDArray::from_vector(
        std::vector<std::int64_t>{m64, m64, m64, m64, m64, i3e9, -1, 300, m64, m64})));
    CHECK(a.astype(ts::int32).equals(NDArray::from_vector(
        std::vector<std::int32_t>{m32, m32, m32, m32, m32, m32, -1, 300, m32, m32})));
    CHECK(a.astype(ts::int16).equals(NDArray::from_vector(
        std::vector<std::int16_t>{0, 0, 0, 0, 0, 0, -1, 300, 0, 0})));
    CHECK(a.astype(ts::int8).equals(NDArray::from_vector(
        std::vector<std::int8_t>{0, 0, 0, 0, 0, 0, -1, 44, 0, 0})));
    CHECK(a.astype(ts::uint8).equals(NDArray::from_vector(
        std::vector<std::uint8_t>{0, 0, 0, 0, 0, 0, 255, 44, 0, 0})));
    CHECK(a.astype(ts::uint16).equals(NDArray::from_vector(
        std::vector<std::uint16_t>{0, 0, 0, 0, 0, 0, 65535, 300, 0, 0})));
    CHECK(a.astype(ts::uint32).equals(NDArray::from_vector(
        std::vector<std::uint32_t>{0, 0, 0, 0, 0, 3000000000u, 4294967295u, 300, 0, 0})));
    const std::uint64_t h = std::uint64_t{1} << 63;
    CHECK(a.astype(ts::uint64).equals(NDArray::from_vector(
        std::vector<std::uint64_t>{h, h, h, h, h, 3000000000u, ~std::uint64_t{0}, 300, h, u18})));
    CHECK(a.astype(ts::bool_).equals(NDArray::from_vector(
        std::vector<bool>{true, true, true, true, true, true, true, true, true, true})));
    // Complex to integer goes through the real part.
    NDArray c = NDArray::from_vector(std::vector<std::complex<double>>{{kNaN, 0}, {2.5, kNaN}, {0, 1}});
    CHECK(c.astype(ts::int64).equals(NDArray::from_vector(std::vector<std::int64_t>{m64, 2, 0})));
    CHECK(c.astype(ts::bool_).equals(NDArray::from_vector(std::vector<bool>{true, true, true})));
}

TEST_CASE("element_cast and visit_real_dtype") {
    CHECK(ts::element_cast<std::int64_t>(-2.9) == -2);
    CHECK(ts::element_cast<std::uint8_t>(std::int64_t{257}) == 1);
    CHECK(ts::element_cast<bool>(std::complex<double>(0, -0.0)) == false);
    CHECK(ts::element_cast<std::complex<float>>(true) == std::complex<float>(1, 0));
    CHECK(ts::element_cast<float>(std::complex<double>(1.5, 2)) == 1.5f);
    CHECK(ts::visit_real_dtype(ts::uint16, "test", [](auto tag) {
              return static_cast<int>(sizeof(typename decltype(tag)::type));
          }) == 2);
    CHECK_THROWS_WITH_AS(ts::visit_real_dtype(ts::complex64, "argmax", [](auto) { return 0; }),
                         "complex dtype complex64 is not supported by argmax", ts::DTypeError);
}

// --- Views -------------------------------------------------------------------------------------

TEST_CASE("transpose and negative-step slices are views; copies match reference loops") {
    NDArray a = digits_array({2, 3, 4});  // a[i, j, k] == 100 i + 10 j + k
    const std::vector<std::int64_t> axes{2, 0, 1};
    NDArray t = a.transpose(axes);
    CHECK(t.shape() == Shape{4, 2, 3});
    CHECK(t.buffer() == a.buffer());
    CHECK_FALSE(t.is_contiguous());
    NDArray s = a.slice(2, 3, -5, -2).slice(1, 2, std::numeric_limits<std::int64_t>::min(), -1);
    CHECK(s.shape() == Shape{2, 3, 2});  // k in {3, 1}, j in {2, 1, 0}
    NDArray tc = t.copy();
    NDArray sc = s.astype(ts::float32);
    CHECK(tc.is_contiguous());
    CHECK(sc.is_contiguous());
    std::int64_t flat = 0;
    for (std::int64_t k = 0; k < 4; ++k)
        for (std::int64_t i = 0; i < 2; ++i)
            for (std::int64_t j = 0; j < 3; ++j, ++flat) {
                CHECK(t.at<std::int64_t>({k, i, j}) == 100 * i + 10 * j + k);
                CHECK(tc.data<std::int64_t>()[flat] == 100 * i + 10 * j + k);
            }
    flat = 0;
    for (std::int64_t i = 0; i < 2; ++i)
        for (std::int64_t jj = 0; jj < 3; ++jj)
            for (std::int64_t kk = 0; kk < 2; ++kk, ++flat)
                CHECK(sc.data<float>()[flat] == static_cast<float>(100 * i + 10 * (2 - jj) + (3 - 2 * kk)));
    CHECK(a.transpose().shape() == Shape{4, 3, 2});
    CHECK(a.transpose().transpose().equals(a));
    CHECK(t.transpose(std::vector<std::int64_t>{1, 2, 0}).equals(a));
    CHECK(a.slice(-1, 1, 3).at<std::int64_t>({1, 2, 1}) == 122);
    CHECK(a.slice(0, -1, 2).shape() == Shape{1, 3, 4});
    // reshape of a non-contiguous view copies; of a contiguous one shares the buffer.
    CHECK(t.reshape({24}).buffer() != a.buffer());
    CHECK(t.reshape({-1}).equals(tc.reshape({24})));
    CHECK(a.reshape({6, -1}).buffer() == a.buffer());
    CHECK(a.reshape({6, 4}).at<std::int64_t>({5, 3}) == 123);
    CHECK(a.contiguous().buffer() == a.buffer());
    CHECK(t.contiguous().equals(tc));
}

TEST_CASE("copies of 4-d views with mixed strides") {
    const NDArray a = digits_array({2, 3, 4, 5}).astype(ts::float64);
    check_copy_matches_view(a);
    check_copy_matches_view(a.slice(1, 0, 3, 2));
    check_copy_matches_view(a.slice(1, 0, 3, 2).transpose(std::vector<std::int64_t>{3, 1, 0, 2}));
    check_copy_matches_view(a.slice(3, 4, 0, -3).slice(0, 1, 2));
    check_copy_matches_view(a.slice(2, 1, 3).slice(3, 1, 4));  // inner two axes partly merged
    check_copy_matches_view(a.transpose().slice(0, 3, -7, -1));
    // A zero stride (broadcast-like view of one row) and a single-element view.
    const NDArray row = a.reshape({120}).slice(0, 0, 5);
    check_copy_matches_view(NDArray(ts::float64, {4, 5}, {0, 1}, row.offset(), row.buffer()));
    check_copy_matches_view(a.slice(0, 1, 2).slice(1, 2, 3).slice(2, 3, 4).slice(3, 4, 5));
}

TEST_CASE("wrap with negative strides addresses memory before data") {
    std::vector<float> storage{0, 1, 2, 3, 4, 5};
    NDArray r = NDArray::wrap(ts::float32, {2, 3}, &storage[5], nullptr, {-3, -1});
    CHECK(r.raw_data() == &storage[5]);
    CHECK(r.buffer()->data() == reinterpret_cast<std::byte*>(storage.data()));
    CHECK(r.buffer()->nbytes() == 24);
    CHECK(r.copy().equals(NDArray::from_vector(std::vector<float>{5, 4, 3, 2, 1, 0}, {2, 3})));
    r.set({1, 2}, 9.f);
    CHECK(storage[0] == 9.f);
    NDArray none = NDArray::wrap(ts::float32, {0, 3}, nullptr, nullptr);
    CHECK(none.size() == 0);
    CHECK(none.buffer()->nbytes() == 0);
}

TEST_CASE("writes through views, assign and assign_region") {
    NDArray a = NDArray::zeros(ts::float64, {3, 4});
    NDArray col = a.slice(1, 3, 0, -2);  // columns 3 and 1
    col.assign(NDArray::from_vector(std::vector<int>{1, 2, 3, 4, 5, 6}, {3, 2}));
    CHECK(a.equals(NDArray::from_vector(std::vector<double>{0, 2, 0, 1, 0, 4, 0, 3, 0, 6, 0, 5}, {3, 4})));
    NDArray t = a.transpose();
    t.assign(NDArray::from_vector(std::vector<float>(12, 9.f), {4, 3}));
    CHECK(a.equals(NDArray::full(ts::float64, {3, 4}, 9.0)));
    // Overlapping source and destination in one buffer.
    NDArray sq = digits_array({3, 3});
    sq.assign(sq.transpose());
    CHECK(sq.equals(digits_array({3, 3}).transpose().copy()));
    NDArray v = NDArray::from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 4});
    v.slice(0, 1, 5).assign(v.slice(0, 0, 4));
    CHECK(v.equals(NDArray::from_vector(std::vector<std::int64_t>{0, 0, 1, 2, 3})));

    NDArray big = NDArray::zeros(ts::int32, {3, 4});
    big.assign_region(std::vector<std::int64_t>{1, 2}, NDArray::full(ts::uint8, {2, 2}, 7));
    for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 4; ++j) CHECK(big.at<int>({i, j}) == (i >= 1 && j >= 2 ? 7 : 0));
    CHECK_THROWS_WITH_AS(big.assign_region(std::vector<std::int64_t>{1, 2}, NDArray::zeros(ts::int32, {3, 3})),
                         "region [1:4, 2:5] is out of bounds for array of shape (3, 4)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(big.assign_region(std::vector<std::int64_t>{-1, 0}, NDArray::zeros(ts::int32, {1, 1})),
                         "region [-1:0, 0:1] is out of bounds for array of shape (3, 4)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(big.assign_region(std::vector<std::int64_t>{1}, NDArray::zeros(ts::int32, {1, 1})),
                         "region offset (1,) has 1 entries for an array of dimension 2", ts::ShapeError);
    CHECK_THROWS_WITH_AS(big.assign_region(std::vector<std::int64_t>{1, 1}, NDArray::zeros(ts::int32, {1})),
                         "cannot assign a 1-dimensional array to a region of a 2-dimensional array",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(big.assign(NDArray::zeros(ts::int32, {4, 3})),
                         "cannot assign an array of shape (4, 3) to an array of shape (3, 4)", ts::ShapeError);
}

TEST_CASE("view errors") {
    NDArray a = NDArray::zeros(ts::float64, {2, 3});
    CHECK_THROWS_WITH_AS(a.reshape({4}), "cannot reshape array of size 6 into shape (4,)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(a.reshape({4, -1}), "cannot reshape array of size 6 into shape (4, -1)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(a.reshape({-1, -1}), "can only specify one unknown dimension in shape (-1, -1)",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(a.transpose(std::vector<std::int64_t>{0}), "axes (0,) don't match array of dimension 2",
                         ts::AxisError);
    CHECK_THROWS_WITH_AS(a.transpose(std::vector<std::int64_t>{1, -1}), "repeated axis -1 in transpose axes (1, -1)",
                         ts::AxisError);
    CHECK_THROWS_WITH_AS(a.transpose(std::vector<std::int64_t>{0, 2}),
                         "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(a.slice(1, 0, 3, 0), "slice step cannot be zero", ts::ValueError);
    CHECK_THROWS_WITH_AS(a.slice(-3, 0, 1), "axis -3 is out of bounds for array of dimension 2", ts::AxisError);
}

TEST_CASE("equals") {
    NDArray a = NDArray::from_vector(std::vector<double>{1, kNaN, 3});
    NDArray b = a.copy();
    CHECK(a.equals(b));
    CHECK_FALSE(a.equals(b, false));
    CHECK_FALSE(a.equals(a.astype(ts::float32)));
    CHECK_FALSE(a.equals(a.reshape({3, 1})));
    b.set({2}, 4.0);
    CHECK_FALSE(a.equals(b));
    NDArray c = NDArray::from_vector(std::vector<std::complex<float>>{{kNaN, 1}, {1, 2}});
    CHECK(c.equals(c.copy()));
    CHECK_FALSE(c.equals(c.copy(), false));
}

// --- repr --------------------------------------------------------------------------------------

TEST_CASE("repr") {
    CHECK(NDArray::from_vector(std::vector<double>{1, 2}).repr() == "array([1., 2.], dtype=float64)");
    CHECK(NDArray::from_vector(std::vector<int>{1, -20, 300}).repr() == "array([  1, -20, 300], dtype=int32)");
    CHECK(NDArray::from_vector(std::vector<bool>{true, false}).repr() == "array([ True, False], dtype=bool)");
    CHECK(NDArray::from_vector(std::vector<double>{kNaN, -kInf, 2.5, -0.0}).repr() ==
          "array([ nan, -inf,  2.5,  -0.], dtype=float64)");
    CHECK(NDArray::from_vector(std::vector<float>{0.1f, 1e20f}).repr() == "array([  0.1, 1e+20], dtype=float32)");
    CHECK(NDArray::from_vector(std::vector<std::complex<double>>{{1, 2}, {0, -1}}).repr() ==
          "array([1.+2.j, 0.-1.j], dtype=complex128)");
    CHECK(NDArray::from_vector(std::vector<std::int8_t>{-128, 127}).repr() == "array([-128,  127], dtype=int8)");
    CHECK(digits_array({2, 3}).repr() == "array([[ 0,  1,  2],\n       [10, 11, 12]], dtype=int64)");
    CHECK(digits_array({2, 2, 2}).repr() ==
          "array([[[  0,   1],\n        [ 10,  11]],\n\n       [[100, 101],\n        [110, 111]]], dtype=int64)");
    std::vector<std::int64_t> hundred(100);
    std::iota(hundred.begin(), hundred.end(), 0);
    CHECK(NDArray::from_vector(hundred).repr() == "array([ 0,  1,  2, ..., 97, 98, 99], dtype=int64)");
    CHECK(NDArray::from_vector(hundred).reshape({50, 2}).slice(0, 0, 11).repr() ==
          "array([[ 0,  1],\n       [ 2,  3],\n       [ 4,  5],\n       ...,\n       [16, 17],\n"
          "       [18, 19],\n       [20, 21]], dtype=int64)");
    CHECK(NDArray::from_vector(hundred).slice(0, 0, 20).repr().find("...") == std::string::npos);
    NDArray t = digits_array({2, 3}).transpose();
    CHECK(t.repr() == "array([[ 0, 10],\n       [ 1, 11],\n       [ 2, 12]], dtype=int64)");
    std::ostringstream os;
    os << t;
    CHECK(os.str() == t.repr());
}

// --- xtensor -----------------------------------------------------------------------------------

TEST_CASE("xtensor conversions") {
    NDArray a = digits_array({2, 3, 4}).astype(ts::int32);
    NDArray t = a.transpose(std::vector<std::int64_t>{1, 2, 0}).slice(1, 3, std::numeric_limits<std::int64_t>::min(), -1);
    xt::xarray<double> x = ts::to_xarray<double>(t);
    const xt::xarray<double> whole = xt::cast<double>(ts::to_xarray<std::int32_t>(a));
    const xt::xarray<double> reference = xt::flip(xt::transpose(whole, {1, 2, 0}), 1);
    REQUIRE(x.shape() == reference.shape());
    CHECK(x == reference);
    CHECK(x(2, 0, 1) == 123.0);  // t[j=2, k=3, i=1] = a[1, 2, 3]
    NDArray back = ts::from_xexpression(x);
    CHECK(back.dtype() == ts::float64);
    CHECK(back.equals(t.astype(ts::float64)));
    NDArray expr = ts::from_xexpression(xt::arange<float>(6.f) * 2.f);
    CHECK(expr.equals(NDArray::from_vector(std::vector<float>{0, 2, 4, 6, 8, 10})));
    for (ts::DType d : {ts::bool_, ts::uint16, ts::complex64, ts::float32}) {
        NDArray src = digits_array({3, 2}).astype(d);
        CHECK(ts::from_xexpression(ts::to_xarray<std::int64_t>(src)).equals(src.astype(ts::int64)));
    }
    // 0-d and empty.
    xt::xarray<double> zero_d = ts::to_xarray<double>(NDArray::scalar(2.5));
    CHECK(zero_d.dimension() == 0);
    CHECK(zero_d() == 2.5);
    CHECK(ts::from_xexpression(zero_d).equals(NDArray::scalar(2.5)));
    xt::xarray<float> empty = ts::to_xarray<float>(NDArray::zeros(ts::int8, {0, 3}));
    CHECK(empty.dimension() == 2);
    CHECK(empty.shape()[0] == 0);
    CHECK(empty.shape()[1] == 3);
    CHECK(ts::from_xexpression(empty).equals(NDArray::zeros(ts::float32, {0, 3})));
}

// --- Value -------------------------------------------------------------------------------------

TEST_CASE("Value wraps and converts scalars, vectors, arrays and objects") {
    ts::Value none;
    CHECK(none.is_none());
    CHECK(none.describe() == "none");
    ts::Value i = ts::Value::from(std::int64_t{41});
    CHECK(i.is_array());
    CHECK(i.array().ndim() == 0);
    CHECK(i.array().dtype() == ts::int64);
    CHECK(i.as<std::int64_t>() == 41);
    CHECK(i.as<double>() == 41.0);
    CHECK(ts::Value::from(41).array().dtype() == ts::int32);
    CHECK(ts::Value::from(41LL).array().dtype() == ts::int64);  // long long is not an Element type
    CHECK(ts::Value::from(41LL).as<long long>() == 41);
    CHECK(ts::Value::from(std::uint8_t{200}).as<int>() == 200);
    CHECK(ts::Value::from(2.5f).array().dtype() == ts::float32);
    CHECK(ts::Value::from(2.5).as<float>() == 2.5f);
    CHECK(ts::Value::from(true).as<bool>());
    CHECK(ts::Value::from(std::complex<double>(1, 2)).as<std::complex<double>>() == std::complex<double>(1, 2));
    CHECK(ts::Value::from(i).as<std::int64_t>() == 41);
    CHECK(i.nbytes() == 8);
    CHECK(i.describe() == "int64 array ()");

    ts::Value list = ts::Value::from(std::vector<std::vector<double>>{{1, 2}, {3}});
    CHECK(list.is_list());
    CHECK(list.list().size() == 2);
    CHECK(list.list()[0].list()[1].as<double>() == 2.0);
    CHECK(list.as<std::vector<std::vector<double>>>() == std::vector<std::vector<double>>{{1, 2}, {3}});
    CHECK(list.as<std::vector<std::vector<int>>>() == std::vector<std::vector<int>>{{1, 2}, {3}});
    CHECK(list.nbytes() == 24);
    CHECK(list.describe() == "list[2]");
    CHECK(ts::Value(ts::ValueList{}).describe() == "list[0]");
    ts::Value flags = ts::Value::from(std::vector<bool>{true, false});
    CHECK(flags.list()[0].array().dtype() == ts::bool_);
    CHECK(flags.as<std::vector<bool>>() == std::vector<bool>{true, false});

    NDArray a = NDArray::zeros(ts::float32, {3, 4});
    ts::Value va = ts::Value::from(a);
    CHECK(va.as<NDArray>().buffer() == a.buffer());
    CHECK(va.nbytes() == 48);
    CHECK(va.describe() == "float32 array (3, 4)");

    ts::Value obj = ts::Value::from(test_ndarray::Point{3, 4});
    CHECK(obj.is_object());
    CHECK(obj.as<test_ndarray::Point>().y == 4);
    CHECK(obj.nbytes() == 0);
    CHECK(obj.describe() == "object");
    ts::Value s = ts::Value::from(std::string("text"));
    CHECK(s.as<std::string>() == "text");
}

TEST_CASE("Value bad casts name both sides") {
    ts::Value obj = ts::Value::from(test_ndarray::Point{1, 2});
    ts::Value arr = ts::Value::from(NDArray::zeros(ts::float64, {3}));
    ts::Value list = ts::Value::from(std::vector<int>{1, 2, 3});
    ts::Value none;
    CHECK_THROWS_WITH_AS(obj.as<test_ndarray::Other>(),
                         "value holds test_ndarray::Point but test_ndarray::Other was requested", ts::Error);
    CHECK_THROWS_WITH_AS(obj.as<double>(), "value is an object of type test_ndarray::Point, not an array",
                         ts::Error);
    CHECK_THROWS_WITH_AS(list.as<int>(), "value is a list of 3 values, not an array", ts::Error);
    CHECK_THROWS_WITH_AS(none.array(), "value is none, not an array", ts::Error);
    CHECK_THROWS_WITH_AS(arr.list(), "value is an array of dtype float64 and shape (3,), not a list", ts::Error);
    CHECK_THROWS_WITH_AS(arr.as<std::vector<int>>(), "value is an array of dtype float64 and shape (3,), not a list",
                         ts::Error);
    CHECK_THROWS_WITH_AS(arr.as<test_ndarray::Point>(),
                         "value is an array of dtype float64 and shape (3,), not an object", ts::Error);
    CHECK_THROWS_WITH_AS(arr.as<double>(), "can only convert an array of size 1 to a Python scalar", ts::ValueError);
    CHECK_THROWS_WITH_AS(list.as<std::vector<test_ndarray::Point>>(),
                         "value is an array of dtype int32 and shape (), not an object", ts::Error);
}
