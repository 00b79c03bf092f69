// Whole-file reads and crash-safe (temporary file + rename) writes.

#include "src/io/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "tessera/error.hpp"

namespace tessera::io {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The pid (read at each call: a forked child must not reuse its parent's names), a random tag
// and a counter make temporary names unique across processes and threads writing into one
// directory; open(O_EXCL) retries on the rare collision (a killed writer's leftover, pid reuse).
std::string unique_suffix() {
    static const std::uint64_t tag = [] {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }();
    static std::atomic<std::uint64_t> counter{0};
    return fmt::format("{:x}.{:016x}{:x}", ::getpid(), tag,
                       counter.fetch_add(1, std::memory_order_relaxed));
}

std::string temp_name(const std::filesystem::path& target) {
    return (target.parent_path() /
            fmt::format(".{}.{}.partial", target.filename().string(), unique_suffix()))
        .string();
}

void write_all(int fd, const std::byte* data, std::size_t size, const std::string& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw IOError("cannot write {}: {}", path, errno_text(errno));
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

}  // namespace

std::string join_path(const std::string& base, const std::string& name) {
    if (base.empty()) return name;
    if (base.back() == '/') return base + name;
    return base + "/" + name;
}

bool is_temp_name(std::string_view name) {
    return name.size() > 9 && name.front() == '.' && name.ends_with(".partial");
}

void write_file_atomic(const std::string& path, std::span<const std::byte> data) {
    const std::filesystem::path target(path);
    std::string tmp = temp_name(target);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    for (int attempt = 0; fd < 0 && errno == EEXIST && attempt < 100; ++attempt) {
        tmp = temp_name(target);
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (fd < 0 && errno == ENOENT && target.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(target.parent_path(), ec);
        if (ec && !std::filesystem::is_directory(target.parent_path()))
            throw IOError("cannot create directory {}: {}", target.parent_path().string(),
                          ec.message());
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (fd < 0) throw IOError("cannot write {}: {}", path, errno_text(errno));
    try {
        write_all(fd, data.data(), data.size(), path);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw IOError("cannot write {}: {}", path, errno_text(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw IOError("cannot write {}: {}", path, errno_text(err));
    }
}

void write_file_atomic(const std::string& path, std::string_view text) {
    write_file_atomic(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

std::optional<Bytes> read_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw IOError("cannot read {}: {}", path, errno_text(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
        ::close(fd);
        throw IOError("cannot read {}: {}", path, errno_text(err));
    }
    Bytes out(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    std::array<std::byte, 4096> probe;
    while (true) {
        // The file may have grown since fstat: probe into a small buffer rather than growing
        // (and copying) `out` every time it is exactly full.
        const bool full = done == out.size();
        std::byte* dst = full ? probe.data() : out.data() + done;
        const std::size_t room = full ? probe.size() : out.size() - done;
        const ssize_t n = ::read(fd, dst, room);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            throw IOError("cannot read {}: {}", path, errno_text(err));
        }
        if (n == 0) break;
        if (full) out.insert(out.end(), probe.begin(), probe.begin() + n);
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.resize(done);
    return out;
}

bool remove_file(const std::string& path) {
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    throw IOError("cannot remove {}: {}", path, errno_text(errno));
}

}  // namespace tessera::io
