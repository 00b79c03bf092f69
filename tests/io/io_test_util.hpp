#pragma once
// Helpers shared by the storage tests: temporary directories, deterministic test data, files.

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"
#include "src/dispatch.hpp"
#include "tessera/ndarray.hpp"

namespace iotest {

namespace ts = tessera;

/// A fresh directory "/tmp/tessera_io_XXXXXX", removed with everything in it.
class TempDir : public test_support::TempDir {
public:
    TempDir() : test_support::TempDir("tessera_io") {}
};

inline void write_text(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

inline void write_bytes(const std::string& path, const void* data, std::size_t size) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary).write(static_cast<const char*>(data),
                                                static_cast<std::streamsize>(size));
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// Deterministic values covering each dtype's range; floats include NaN and ±inf.
inline ts::NDArray test_values(ts::DType dtype, const ts::Shape& shape, std::uint64_t seed) {
    ts::NDArray a = ts::NDArray::empty(dtype, shape);
    std::uint64_t state = seed * 7919 + 17;
    ts::visit_dtype(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* p = static_cast<T*>(a.raw_data());
        for (std::int64_t k = 0; k < a.size(); ++k) {
            const std::uint64_t bits = splitmix(state);
            const double x = static_cast<double>(static_cast<std::int64_t>(bits >> 11)) / 1e12 - 4e3;
            if constexpr (std::is_same_v<T, bool>) {
                p[k] = (bits & 1) != 0;
            } else if constexpr (std::is_integral_v<T>) {
                std::memcpy(&p[k], &bits, sizeof(T));
            } else if constexpr (ts::is_complex_v<T>) {
                p[k] = T(static_cast<typename T::value_type>(x),
                         static_cast<typename T::value_type>(-x / 3));
                if (k == 1) p[k] = T(std::numeric_limits<typename T::value_type>::quiet_NaN(), 2);
            } else {
                p[k] = static_cast<T>(x);
                if (k == 1) p[k] = std::numeric_limits<T>::quiet_NaN();
                if (k == 2) p[k] = std::numeric_limits<T>::infinity();
                if (k == 3) p[k] = -std::numeric_limits<T>::infinity();
            }
        }
    });
    return a;
}

/// Same shape, dtype and bytes (NaN payloads included).
inline bool bit_equal(const ts::NDArray& a, const ts::NDArray& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    const ts::NDArray ca = a.contiguous();
    const ts::NDArray cb = b.contiguous();
    return std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(ca.nbytes())) == 0;
}

/// The raw bytes of a (contiguous copy of) an array.
inline std::string raw_bytes(const ts::NDArray& a) {
    const ts::NDArray c = a.contiguous();
    return std::string(static_cast<const char*>(c.raw_data()), static_cast<std::size_t>(c.nbytes()));
}

/// The Python interop helper beside this file.
inline std::string interop_script() {
    return std::string(TESSERA_TEST_DATA) + "/../io/zarr_interop.py";
}

/// Runs `/usr/bin/python3 <script> args`, capturing stdout+stderr; returns the exit status.
inline int run_python(const std::string& args, std::string& output, const std::string& out_file) {
    const std::string cmd =
        "/usr/bin/python3 '" + interop_script() + "' " + args + " > '" + out_file + "' 2>&1";
    const int status = std::system(cmd.c_str());
    output = read_text(out_file);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace iotest
