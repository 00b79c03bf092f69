// The dashboard's HTTP server: routes, query validation, errors, server-sent events.

#include "dashboard/server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "dashboard/api.hpp"
#include "dashboard/assets.hpp"
#include "tessera/error.hpp"

namespace tessera::dashboard {
namespace {

using json = nlohmann::json;

constexpr const char* kJson = "application/json";
constexpr const char* kPages[] = {"/", "/status", "/workers", "/graph", "/profile", "/system"};
constexpr const char* kEndpoints[] = {"/", "/status", "/workers", "/graph", "/profile", "/system",
                                      "/api/v1/status", "/api/v1/tasks", "/api/v1/workers", "/api/v1/graph",
                                      "/api/v1/profile", "/api/v1/system", "/api/v1/trace.json", "/events",
                                      "/metrics", "/health"};

void send_json(httplib::Response& res, const json& body, int status = 200) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(), kJson);
}

void send_error(const httplib::Request& req, httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    if (req.path.rfind("/api/", 0) == 0 || req.path == "/events") {
        res.set_content(json{{"error", message}, {"status", status}}.dump(), kJson);
    } else {
        res.set_content(fmt::format("{} {}\n", status, message), "text/plain; charset=utf-8");
    }
}

// Rejects parameters the endpoint does not know, so that a typo is an error rather than ignored.
void check_params(const httplib::Request& req, std::initializer_list<std::string_view> allowed) {
    for (const auto& [name, value] : req.params) {
        if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        throw ApiError{400, fmt::format("unknown query parameter '{}' for {} (allowed: {})", name, req.path,
                                        list.empty() ? "none" : list)};
    }
}

std::optional<std::int64_t> int_param(const httplib::Request& req, const std::string& name, std::int64_t min,
                                      std::int64_t max) {
    if (!req.has_param(name)) return std::nullopt;
    const std::string text = req.get_param_value(name);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        throw ApiError{400, fmt::format("invalid query parameter '{}': expected an integer in [{}, {}], got '{}'", name,
                                        min, max, text)};
    return value;
}

}  // namespace

// ----------------------------------------------------------------------------------- EventHub

std::string sse_event(std::string_view name, std::int64_t id, const json& data) {
    return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", id, name, data.dump());
}

void EventHub::publish(json update) {
    {
        std::lock_guard lock(mutex_);
        const std::int64_t seq = next_seq_++;
        update["seq"] = seq;
        events_.emplace_back(seq, sse_event("update", seq, update));
        while (events_.size() > kKeep) events_.pop_front();
    }
    cv_.notify_all();
}

std::int64_t EventHub::next_seq() const {
    std::lock_guard lock(mutex_);
    return next_seq_;
}

bool EventHub::wait(std::int64_t last, int timeout_ms, std::vector<std::pair<std::int64_t, std::string>>& out,
                    bool& gap) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return stopping_ || next_seq_ > last + 1; });
    if (stopping_) return false;
    gap = !events_.empty() && events_.front().first > last + 1 && next_seq_ > last + 1;
    for (const auto& event : events_)
        if (event.first > last) out.push_back(event);
    return true;
}

void EventHub::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
}

bool EventHub::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

// ----------------------------------------------------------------------------------- Server

Server::Server(std::shared_ptr<Model> model, std::function<void()> drain, std::shared_ptr<SystemMonitor> system,
               EventHub& hub)
    : model_(std::move(model)), drain_(std::move(drain)), system_(std::move(system)), hub_(hub),
      http_(std::make_unique<httplib::Server>()) {
    http_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second server
    // bind a port that is in use instead of failing.
    http_->set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http_->set_keep_alive_timeout(2);
    http_->set_payload_max_length(64 * 1024);
    routes();
}

Server::~Server() { stop(); }

int Server::start(const std::string& host, int port) {
    int bound = -1;
    errno = 0;
    if (port == 0) {
        bound = http_->bind_to_any_port(host);
    } else if (http_->bind_to_port(host, port)) {
        bound = port;
    }
    if (bound <= 0) {
        const int error = errno;
        throw IOError("cannot serve the dashboard on {}:{}: {}", host, port,
                      error != 0 ? std::strerror(error) : "the address is not available");
    }
    thread_ = std::thread([this] { http_->listen_after_bind(); });
    return bound;
}

void Server::stop() {
    hub_.stop();
    if (http_) http_->stop();
    if (thread_.joinable()) thread_.join();
}

void Server::routes() {
    httplib::Server& http = *http_;

    // Wraps an API handler: drains the recorder first (so a response reflects every event so far),
    // turns ApiError into its status and anything else into 500.
    auto api = [this](auto handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            try {
                drain_();
                handler(req, res);
            } catch (const ApiError& e) {
                send_error(req, res, e.status, e.message);
            } catch (const std::exception& e) {
                send_error(req, res, 500, e.what());
            }
        };
    };

    for (const char* page : kPages) {
        http.Get(page, [](const httplib::Request& req, httplib::Response& res) {
            const Asset* index = find_asset("index.html");
            if (index == nullptr) return send_error(req, res, 500, "the dashboard was built without its assets");
            res.set_header("Cache-Control", "no-cache");
            res.set_content(reinterpret_cast<const char*>(index->data), index->size, std::string(index->content_type));
        });
    }
    http.Get(R"(/static/([A-Za-z0-9_.\-]+))", [](const httplib::Request& req, httplib::Response& res) {
        const Asset* asset = find_asset(req.matches[1].str());
        if (asset == nullptr) return send_error(req, res, 404, fmt::format("no such file: {}", req.path));
        res.set_header("Cache-Control", "no-cache");
        res.set_content(reinterpret_cast<const char*>(asset->data), asset->size, std::string(asset->content_type));
    });
    http.Get("/favicon.ico", [](const httplib::Request& req, httplib::Response& res) {
        const Asset* icon = find_asset("favicon.svg");
        if (icon == nullptr) return send_error(req, res, 404, "no favicon");
        res.set_content(reinterpret_cast<const char*>(icon->data), icon->size, std::string(icon->content_type));
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("ok\n", "text/plain; charset=utf-8");
    });

    http.Get("/api/v1/status", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {"run"});
        send_json(res, status_json(*model_, int_param(req, "run", 0, INT64_MAX)));
    }));
    http.Get("/api/v1/tasks", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {"since", "limit"});
        const std::int64_t since = int_param(req, "since", 0, INT64_MAX).value_or(0);
        const std::int64_t limit = int_param(req, "limit", 1, kMaxTaskLimit).value_or(10000);
        send_json(res, tasks_json(*model_, since, limit));
    }));
    http.Get("/api/v1/workers", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {});
        send_json(res, workers_json(*model_, *system_));
    }));
    http.Get("/api/v1/graph", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {"run"});
        send_json(res, graph_json(*model_, int_param(req, "run", 0, INT64_MAX)));
    }));
    http.Get("/api/v1/profile", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {});
        send_json(res, profile_json(*model_));
    }));
    http.Get("/api/v1/system", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {});
        send_json(res, system_json(*system_));
    }));
    http.Get("/api/v1/trace.json", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {"run"});
        res.set_header("Cache-Control", "no-store");
        res.set_content(trace_json(*model_, int_param(req, "run", 0, INT64_MAX)), kJson);
    }));
    http.Get("/metrics", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {});
        res.set_content(metrics_text(*model_, *system_, hub_.n_clients.load()),
                        "text/plain; version=0.0.4; charset=utf-8");
    }));

    http.Get("/events", api([this](const httplib::Request& req, httplib::Response& res) {
        check_params(req, {});
        if (hub_.n_clients.fetch_add(1) >= kMaxEventClients) {
            hub_.n_clients.fetch_sub(1);
            throw ApiError{503, fmt::format("too many event streams open (at most {})", kMaxEventClients)};
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        // Per client: the number of the last event sent; -1 until the snapshot went out.
        auto last = std::make_shared<std::int64_t>(-1);
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, last](std::size_t, httplib::DataSink& sink) {
                auto send_snapshot = [&] {
                    drain_();
                    *last = hub_.next_seq() - 1;
                    const std::string text = "retry: 1000\n" +
                                             sse_event("snapshot", *last, UpdateBuilder::snapshot(*model_, *system_, *last));
                    return sink.write(text.data(), text.size());
                };
                if (*last < 0) return send_snapshot();
                std::vector<std::pair<std::int64_t, std::string>> events;
                bool gap = false;
                if (!hub_.wait(*last, 250, events, gap)) {
                    sink.done();
                    return true;
                }
                if (gap) return send_snapshot();
                for (const auto& [seq, text] : events) {
                    if (!sink.write(text.data(), text.size())) return false;
                    *last = seq;
                }
                return sink.is_writable();
            },
            [this](bool) { hub_.n_clients.fetch_sub(1); });
    }));

    // Anything else: 404 naming the path, 405 for other methods.
    auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
        res.set_header("Allow", "GET, HEAD");
        send_error(req, res, 405, fmt::format("method {} is not allowed on {}: the dashboard is read-only",
                                              req.method, req.path));
    };
    http.Post(".*", not_allowed);
    http.Put(".*", not_allowed);
    http.Patch(".*", not_allowed);
    http.Delete(".*", not_allowed);
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 404) {
            std::string list;
            for (const char* e : kEndpoints) list += (list.empty() ? "" : ", ") + std::string(e);
            send_error(req, res, 404, fmt::format("no such page or endpoint: {} (available: {})", req.path, list));
        } else {
            send_error(req, res, res.status, fmt::format("cannot serve {} {}", req.method, req.path));
        }
        return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string message = "unknown error";
        try {
            if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
            message = e.what();
        } catch (...) {
        }
        send_error(req, res, 500, message);
    });
}

}  // namespace tessera::dashboard
