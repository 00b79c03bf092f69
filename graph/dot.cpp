// Graphviz export: DOT text, and rendering to SVG/PNG through the `dot` program when installed.

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

#include <unistd.h>

#include <fmt/format.h>

#include "graph/append_table.hpp"
#include "tessera/error.hpp"
#include "tessera/graph.hpp"

namespace tessera {
namespace {

// Pastel fills that keep black labels readable.
constexpr const char* kPalette[] = {
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
};

// FNV-1a of the group text: stable across runs and processes (unlike interned ids).
const char* group_colour(std::string_view group) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char c : group) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return kPalette[detail::fmix64(h) % std::size(kPalette)];
}

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    for (char c : text) {
        if (c == '"' || c == '\\') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool dot_installed() {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return false;
    std::string_view rest(path);
    while (true) {
        const std::size_t colon = rest.find(':');
        const std::string_view dir = rest.substr(0, colon);
        const std::string candidate = fmt::format("{}/dot", dir.empty() ? std::string_view(".") : dir);
        if (::access(candidate.c_str(), X_OK) == 0) return true;
        if (colon == std::string_view::npos) return false;
        rest.remove_prefix(colon + 1);
    }
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    return out + "'";
}

void write_dot_file(const Graph& graph, const std::string& path) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) throw IOError("cannot write '{}': {}", path, std::strerror(errno));
    graph.to_dot(file);
    file.flush();
    if (!file) throw IOError("cannot write '{}': {}", path, std::strerror(errno));
}

}  // namespace

void Graph::to_dot(std::ostream& os) const {
    os << "digraph tessera {\n";
    os << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n";
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
        const Key& key = tasks_[t].key;
        os << fmt::format("  n{} [label=\"{}\", fillcolor=\"{}\"];\n", t, escape(key.str()),
                          group_colour(key.group()));
    }
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
        for (const Key& dep : tasks_[t].deps) {
            const std::int64_t position = find(dep);
            if (position < 0) {
                // Not an error here: draw the missing dependency as a dashed node of its own.
                os << fmt::format("  \"missing:{}\" [label=\"{}\", style=dashed];\n", escape(dep.str()),
                                  escape(dep.str()));
                os << fmt::format("  \"missing:{}\" -> n{};\n", escape(dep.str()), t);
            } else {
                os << fmt::format("  n{} -> n{};\n", position, t);
            }
        }
    }
    os << "}\n";
}

void Graph::visualize(const std::string& path) const {
    const char* format = ends_with(path, ".svg") ? "svg" : ends_with(path, ".png") ? "png" : nullptr;
    if (format == nullptr) {
        write_dot_file(*this, path);
        return;
    }
    if (!dot_installed())
        throw IOError("cannot render '{}': Graphviz 'dot' is not installed (write a .dot file instead)",
                      path);
    std::error_code ec;
    const auto temp_dir = std::filesystem::temp_directory_path(ec);
    if (ec) throw IOError("cannot render '{}': no temporary directory: {}", path, ec.message());
    const std::string dot_path =
        (temp_dir / fmt::format("tessera-{}-{}.dot", ::getpid(), unique_token())).string();
    write_dot_file(*this, dot_path);
    const std::string command = fmt::format("dot -T{} -o {} {} 2>/dev/null", format, shell_quote(path),
                                            shell_quote(dot_path));
    const int status = std::system(command.c_str());
    std::filesystem::remove(dot_path, ec);
    if (status != 0)
        throw IOError("cannot render '{}': Graphviz 'dot' failed (status {})", path, status);
}

}  // namespace tessera
