// Internal assertions and re-throwing an exception with context (task keys) added to its message.

#include "tessera/error.hpp"

#include <new>
#include <stdexcept>

namespace tessera {
namespace detail {

void assertion_failed(const char* cond, const char* why, const char* file, int line) {
    throw Error("internal assertion failed: {} ({}) at {}:{}", cond, why, file, line);
}

}  // namespace detail

namespace {

// Re-throws `e` as the same standard type with `message`; most-derived types are tried first so
// that catching by the original type still works for the caller.
[[noreturn]] void rethrow_std(const std::exception& e, const std::string& message) {
    if (dynamic_cast<const std::invalid_argument*>(&e)) throw std::invalid_argument(message);
    if (dynamic_cast<const std::out_of_range*>(&e)) throw std::out_of_range(message);
    if (dynamic_cast<const std::domain_error*>(&e)) throw std::domain_error(message);
    if (dynamic_cast<const std::length_error*>(&e)) throw std::length_error(message);
    if (dynamic_cast<const std::range_error*>(&e)) throw std::range_error(message);
    if (dynamic_cast<const std::overflow_error*>(&e)) throw std::overflow_error(message);
    if (dynamic_cast<const std::underflow_error*>(&e)) throw std::underflow_error(message);
    if (dynamic_cast<const std::logic_error*>(&e)) throw std::logic_error(message);
    throw std::runtime_error(message);
}

}  // namespace

void rethrow_with_context(std::exception_ptr error, const std::string& prefix) {
    TESSERA_ASSERT(error != nullptr, "rethrow_with_context needs an exception");
    try {
        std::rethrow_exception(error);
    } catch (const Error& e) {
        std::rethrow_exception(e.with_message(prefix + ": " + e.what()));
    } catch (const std::logic_error& e) {
        rethrow_std(e, prefix + ": " + e.what());
    } catch (const std::runtime_error& e) {
        rethrow_std(e, prefix + ": " + e.what());
    } catch (...) {
        // std::bad_alloc, other std::exception types without a message constructor and non-std
        // exceptions keep their exact type and message.
        std::rethrow_exception(error);
    }
}

}  // namespace tessera
