#pragma once
/// \file error.hpp
/// The Tessera exception hierarchy. Every error the library raises derives from
/// tessera::Error; the subclasses name what a caller may want to catch.
///
///     try { a + b; } catch (const tessera::ShapeError& e) { std::cerr << e.what(); }

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace tessera {

/// Root of all Tessera errors. Constructed from an fmt format string:
/// `throw ShapeError("cannot broadcast shape {} against {}", a, b);`
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
    explicit Error(const char* message) : std::runtime_error(message) {}
    template <class... Args>
        requires(sizeof...(Args) > 0)
    explicit Error(fmt::format_string<Args...> format, Args&&... args)
        : std::runtime_error(fmt::format(format, std::forward<Args>(args)...)) {}

    /// The class name, e.g. "ShapeError" (used when printing and over the wire).
    virtual const char* kind() const noexcept { return "Error"; }
    /// A copy of this error, of the same dynamic type, carrying another message.
    virtual std::exception_ptr with_message(std::string message) const {
        return std::make_exception_ptr(Error(message));
    }
};

#define TESSERA_DEFINE_ERROR(Name, Base)                                              \
    class Name : public Base {                                                        \
    public:                                                                           \
        using Base::Base;                                                             \
        const char* kind() const noexcept override { return #Name; }                  \
        std::exception_ptr with_message(std::string message) const override {         \
            return std::make_exception_ptr(Name(message));                            \
        }                                                                             \
    }

/// Shapes that do not fit together (broadcasting, reshape, concatenation).
TESSERA_DEFINE_ERROR(ShapeError, Error);
/// An axis out of range or repeated.
TESSERA_DEFINE_ERROR(AxisError, Error);
/// A dtype that is unknown or not allowed for the operation.
TESSERA_DEFINE_ERROR(DTypeError, Error);
/// Chunk specifications that do not match the shape.
TESSERA_DEFINE_ERROR(ChunkError, Error);
/// Bad values (NumPy's ValueError): e.g. the minimum of an empty axis.
TESSERA_DEFINE_ERROR(ValueError, Error);
/// An index out of bounds.
TESSERA_DEFINE_ERROR(IndexError, Error);
/// Storage errors; messages name the path and the chunk key.
TESSERA_DEFINE_ERROR(IOError, Error);
/// Task-graph errors: cycles, missing dependencies, unknown operations.
TESSERA_DEFINE_ERROR(GraphError, Error);
/// Bad configuration values (from code or the environment).
TESSERA_DEFINE_ERROR(ConfigError, Error);
/// Malformed messages between scheduler, workers and clients.
TESSERA_DEFINE_ERROR(ProtocolError, Error);
/// A worker failed or was lost.
TESSERA_DEFINE_ERROR(WorkerError, Error);
/// A task whose execution killed too many workers (distributed scheduler).
TESSERA_DEFINE_ERROR(KilledWorker, WorkerError);
/// A computation was cancelled before it finished.
TESSERA_DEFINE_ERROR(CancelledError, Error);
/// NumPy behaviour that Tessera does not support (never silently approximated).
TESSERA_DEFINE_ERROR(NotImplemented, Error);

namespace detail {
[[noreturn]] void assertion_failed(const char* cond, const char* why, const char* file, int line);
}

/// For programmer errors only (internal invariants), never for user input.
#define TESSERA_ASSERT(cond, why)                                                     \
    do {                                                                              \
        if (!(cond)) ::tessera::detail::assertion_failed(#cond, why, __FILE__, __LINE__); \
    } while (0)

/// Re-throws the exception `error` with `prefix + ": "` put before its message, keeping its type
/// when it is a tessera::Error (any subclass) or one of the std::logic_error / std::runtime_error
/// family (invalid_argument, out_of_range, domain_error, length_error, range_error,
/// overflow_error, underflow_error; other subclasses become their nearest listed base).
/// std::bad_alloc, other std::exception types and non-std exceptions are re-thrown unchanged.
/// Used to add task keys: `rethrow_with_context(e, "task ('add-1f3e', 0)")`.
[[noreturn]] void rethrow_with_context(std::exception_ptr error, const std::string& prefix);

}  // namespace tessera
