// Serves the dashboard on a free port while it computes something worth looking at, for the
// browser test (and for a person): first a small computation with one failing task, then the
// mean of a chunked random array plus a delayed pipeline, over 1,000 tasks in one run.
//
//   dashboard_demo [--chunks N] [--pipeline N] [--sleep-us N] [--start-delay SECONDS]
//                  [--timeout SECONDS] [--port P]
//
// Prints "URL <url>" once the server is up, "FAILED_RUN <message>" after the failing run and
// "DONE <tasks> <mean>" after the main run (stdout, flushed), then keeps serving until stdin is
// closed or the timeout passes.

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <tessera/tessera.hpp>

#include "tessera/dashboard.hpp"

namespace ts = tessera;

namespace {

struct Args {
    std::int64_t chunks = 800;
    std::int64_t pipeline = 400;
    std::int64_t sleep_us = 20000;
    double start_delay = 0;
    double timeout = 120;
    int port = 0;
};

Args parse(int argc, char** argv) {
    Args a;
    for (int k = 1; k + 1 < argc; k += 2) {
        const std::string flag = argv[k];
        const std::string value = argv[k + 1];
        if (flag == "--chunks") a.chunks = std::stoll(value);
        else if (flag == "--pipeline") a.pipeline = std::stoll(value);
        else if (flag == "--sleep-us") a.sleep_us = std::stoll(value);
        else if (flag == "--start-delay") a.start_delay = std::stod(value);
        else if (flag == "--timeout") a.timeout = std::stod(value);
        else if (flag == "--port") a.port = std::stoi(value);
        else throw std::invalid_argument("unknown flag " + flag);
    }
    return a;
}

void say(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse(argc, argv);
    ts::Dashboard dashboard({.host = "127.0.0.1", .port = args.port, .print_url = false});
    say("URL " + dashboard.url());
    // Time for a browser to open the page and watch from the start.
    std::this_thread::sleep_for(std::chrono::duration<double>(args.start_delay));
    ts::ComputeOptions options;
    options.scheduler = "threads";
    options.num_threads = 4;
    options.progress = false;

    // A run with one failing task: the page lists it with its key and message.
    try {
        auto load = ts::delayed(
            [](std::int64_t sensor) -> std::int64_t {
                if (sensor == 3) throw ts::ValueError("sensor {} returned no data", sensor);
                return sensor * 10;
            },
            {.name = "load_sensor"});
        std::vector<ts::Delayed> parts;
        for (std::int64_t s = 0; s < 8; ++s) parts.push_back(load(s));
        auto total = ts::delayed([](std::vector<std::int64_t> xs) {
            std::int64_t sum = 0;
            for (auto x : xs) sum += x;
            return sum;
        }, {.name = "sum_sensors"});
        total(parts).compute(options);
    } catch (const std::exception& e) {
        say(std::string("FAILED_RUN ") + e.what());
    }

    // The main run: random_normal -> mean chunks -> tree reduction, plus a slow delayed pipeline.
    const std::int64_t chunk = 20000;
    ts::Array x = ts::random::normal(1.0, 2.0, {args.chunks * chunk}, {.chunks = {chunk}, .seed = 7});
    ts::Array m = x.mean();
    const std::int64_t sleep_us = args.sleep_us;
    auto load = ts::delayed([sleep_us](std::int64_t i) -> std::int64_t {
        std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
        return i;
    }, {.name = "load_record"});
    auto clean = ts::delayed([sleep_us](std::int64_t v) -> std::int64_t {
        std::this_thread::sleep_for(std::chrono::microseconds(sleep_us / 2));
        return v * 2;
    }, {.name = "clean_record"});
    auto summarize = ts::delayed([](std::vector<std::int64_t> xs) {
        std::int64_t sum = 0;
        for (auto v : xs) sum += v;
        return sum;
    }, {.name = "summarize"});
    std::vector<ts::Delayed> cleaned;
    for (std::int64_t i = 0; i < args.pipeline; ++i) cleaned.push_back(clean(load(i)));
    ts::Delayed total = summarize(cleaned);

    ts::Graph graph;
    std::vector<ts::Key> keys;
    m.add_to_graph(graph, keys);
    total.add_to_graph(graph, keys);
    const auto values = ts::compute_graph(graph, keys, options);
    say(fmt::format("DONE {} {:.6f} {}", graph.size(), values[0].array().data<double>()[0],
                    values[1].as<std::int64_t>()));

    // Keep serving until stdin closes or the timeout passes.
    std::mutex mutex;
    std::condition_variable cv;
    bool closed = false;
    std::thread reader([&] {
        while (std::cin.get() != EOF) {
        }
        std::lock_guard lock(mutex);
        closed = true;
        cv.notify_all();
    });
    reader.detach();
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::duration<double>(args.timeout), [&] { return closed; });
    return 0;
}
