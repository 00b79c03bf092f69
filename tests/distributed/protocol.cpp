// The wire protocol: value round trips, the version handshake, and fuzzing the scheduler's and a
// worker's sockets with malformed frames.

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <random>
#include <thread>

#include "helpers.hpp"
#include "scheduler/dist/messages.hpp"
#include "tessera/error.hpp"
#include "tessera/version.hpp"

namespace ts = tessera;
namespace dist = tessera::dist;
using namespace dist_test;

namespace {

// Sends `out`, then reads it back as the scheduler would.
std::string frames_of(dist::Outgoing&& out, std::vector<std::string>& payloads) {
    std::string header = out.w.take();
    for (auto& f : out.frames) payloads.push_back(f.to_string());
    return header;
}

ts::Value round_trip(const ts::Value& v) {
    zmq::context_t context(1);
    zmq::socket_t a(context, zmq::socket_type::pair), b(context, zmq::socket_type::pair);
    a.bind("inproc://rt");
    b.connect("inproc://rt");
    dist::Outgoing out(dist::MsgType::Data);
    out.put_value(dist::pack(v));
    REQUIRE(dist::send(a, {}, std::move(out)));
    std::string identity;
    std::optional<dist::Incoming> in;
    while (!(in = dist::receive(b, false, identity))) std::this_thread::yield();
    return dist::unpack(in->get_value());
}

std::optional<dist::Incoming> wait_reply(zmq::socket_t& s, double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::string identity;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto in = dist::receive(s, false, identity)) return in;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("values cross the wire: arrays of every layout, lists, None; objects refused") {
    ts::NDArray m = ts::NDArray::empty(ts::float32, {3, 4});
    for (std::int64_t k = 0; k < 12; ++k) m.set({k / 4, k % 4}, ts::Scalar(static_cast<double>(k) * 1.5));
    ts::NDArray big = ts::NDArray::empty(ts::int64, {3000});
    for (std::int64_t k = 0; k < 3000; ++k) big.set({k}, ts::Scalar(k * k));
    ts::NDArray flags = ts::NDArray::from_vector(std::vector<bool>{true, false, true});
    const std::vector<ts::NDArray> arrays{m, m.transpose(), m.slice(1, 3, 0, -1), big,
                                          ts::NDArray::scalar(ts::Scalar(std::complex<double>(1, -2))),
                                          ts::NDArray::empty(ts::float64, {0, 5}), flags};
    for (const auto& a : arrays) {
        CAPTURE(a.repr());
        const ts::Value back = round_trip(ts::Value(a));
        REQUIRE(back.is_array());
        CHECK(back.array().equals(a));
        CHECK(back.array().dtype() == a.dtype());
    }
    const ts::Value nested(ts::ValueList{ts::Value(), ts::Value(m), ts::Value(ts::ValueList{ts::Value::from(7)})});
    const ts::Value back = round_trip(nested);
    REQUIRE(back.is_list());
    CHECK(back.list()[0].is_none());
    CHECK(back.list()[1].array().equals(m));
    CHECK(back.list()[2].list()[0].as<std::int64_t>() == 7);
    CHECK_THROWS_WITH_AS(dist::pack(ts::Value::from(Blob{1})),
                         "cannot send a value of C++ type dist_test::Blob to another process", ts::Error);
}

TEST_CASE("malformed headers and frames raise ProtocolError") {
    dist::PackedValue bad = dist::pack(ts::Value(ts::NDArray::zeros(ts::float64, {4})));
    bad.tree.shape = {5};
    CHECK_THROWS_WITH_AS(dist::unpack(std::move(bad)),
                         "payload frame of 32 bytes for a float64 array of shape (5,) (40 bytes)", ts::ProtocolError);
    // A length prefix far beyond the message.
    dist::Writer w;
    w.put(std::uint64_t{1} << 60);
    const std::string bytes = w.take();
    dist::Reader r(bytes.data(), bytes.size());
    CHECK_THROWS_WITH_AS(r.get_str(), "length 1152921504606846976 does not fit in the 0 bytes left of the message",
                         ts::ProtocolError);
    dist::Reader empty(bytes.data(), 3);
    CHECK_THROWS_WITH_AS(empty.get<std::uint64_t>(), "truncated message: 8 more bytes needed, 3 left", ts::ProtocolError);
}

TEST_CASE("version handshake: a mismatched peer is refused with both versions" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(1));
    zmq::context_t context(1);
    for (const auto& [version, protocol, expected] :
         std::vector<std::tuple<std::string, std::uint32_t, std::string>>{
             {"9.9.9", dist::kProtocolVersion,
              fmt::format("version mismatch: scheduler runs tessera {} (protocol 2), client runs tessera 9.9.9 (protocol 2)", ts::version())},
             {ts::version(), 7,
              fmt::format("version mismatch: scheduler runs tessera {} (protocol 2), peer runs tessera {} (protocol 7)",
                          ts::version(), ts::version())}}) {
        zmq::socket_t s(context, zmq::socket_type::dealer);
        s.set(zmq::sockopt::linger, 0);
        s.connect(cluster.address());
        dist::Hello hello;
        hello.version = version;
        hello.protocol = protocol;
        REQUIRE(dist::send(s, {}, dist::encode(hello)));
        auto reply = wait_reply(s, 10);
        REQUIRE(reply);
        REQUIRE(reply->type == dist::MsgType::Refuse);
        CHECK(reply->r->get_str() == expected);
    }
    ts::Client client(cluster);
    CHECK(client.n_workers() == 1);
}

TEST_CASE("protocol fuzz: thousands of malformed frames; scheduler and worker keep serving" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    const std::vector<int> pids = cluster.worker_pids();
    zmq::context_t context(1);

    // A worker's peer address, from the scheduler's info.
    std::string worker_address;
    {
        zmq::socket_t s(context, zmq::socket_type::dealer);
        s.set(zmq::sockopt::linger, 0);
        s.connect(cluster.address());
        dist::Hello hello;
        hello.version = ts::version();
        REQUIRE(dist::send(s, {}, dist::encode(hello)));
        REQUIRE(wait_reply(s, 10));
        REQUIRE(dist::send(s, {}, dist::Outgoing(dist::MsgType::InfoRequest)));
        auto info = wait_reply(s, 10);
        REQUIRE(info);
        REQUIRE(info->type == dist::MsgType::Info);
        REQUIRE(info->r->get<std::uint64_t>() == 2);
        info->r->get_str();
        worker_address = info->r->get_str();
    }

    // Seeds: valid messages of every kind a peer may send.
    std::vector<std::vector<std::string>> seeds;
    const auto add_seed = [&](dist::Outgoing&& out) {
        std::vector<std::string> payloads;
        std::string header = frames_of(std::move(out), payloads);
        payloads.insert(payloads.begin(), header);
        seeds.push_back(std::move(payloads));
    };
    {
        dist::Hello hello;
        hello.version = ts::version();
        add_seed(dist::encode(hello));
        dist::Submit submit;
        submit.run = 3;
        dist::TaskSpec spec;
        spec.key = ts::Key("k", {1});
        spec.op = "dtest.konst";
        spec.constant = dist::pack(ts::Value(ts::NDArray::zeros(ts::float64, {2})));
        submit.tasks.push_back(std::move(spec));
        submit.outputs = {0};
        add_seed(dist::encode(std::move(submit)));
        dist::Outgoing done(dist::MsgType::TaskDone);
        done.w.put(std::uint64_t{1});
        dist::DoneItem item;
        item.tid = (std::uint64_t{1} << 32) | 1;
        item.value = dist::pack(ts::Value(ts::ValueList{ts::Value::from(1.5)}));
        dist::write_done_item(done, std::move(item));
        add_seed(std::move(done));
        dist::Outgoing get(dist::MsgType::GetData);
        get.w.put(std::uint64_t{9});
        get.w.put_i64s({1, 2, std::int64_t{1} << 32});
        add_seed(std::move(get));
        dist::Outgoing cancel(dist::MsgType::Cancel);
        cancel.w.put(std::uint64_t{3});
        add_seed(std::move(cancel));
        add_seed(dist::Outgoing(dist::MsgType::Heartbeat));
    }

    std::mt19937_64 rng(12345);
    const auto random_bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (auto& c : s) c = static_cast<char>(rng() & 0xff);
        return s;
    };
    const auto mutate = [&](std::vector<std::string> frames) {
        switch (rng() % 6) {
            case 0: return std::vector<std::string>{random_bytes(rng() % 64)};
            case 1: {  // truncate the header
                frames[0].resize(rng() % (frames[0].size() + 1));
                return frames;
            }
            case 2: {  // flip bytes
                for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
                    frames[0][rng() % frames[0].size()] = static_cast<char>(rng() & 0xff);
                return frames;
            }
            case 3: {  // a huge length somewhere
                const std::uint64_t huge = ~std::uint64_t{0} >> (rng() % 40);
                if (frames[0].size() > 13) std::memcpy(frames[0].data() + 5 + rng() % (frames[0].size() - 13), &huge, 8);
                return frames;
            }
            case 4: {  // payload frames dropped, added or resized
                if (frames.size() > 1 && rng() % 2) frames.pop_back();
                else frames.push_back(random_bytes(rng() % 100));
                return frames;
            }
            default: {  // appended junk
                frames[0] += random_bytes(1 + rng() % 16);
                return frames;
            }
        }
    };

    const auto start = std::chrono::steady_clock::now();
    for (const std::string& target : {cluster.address(), worker_address}) {
        std::unique_ptr<zmq::socket_t> s;
        for (int n = 0; n < 3000; ++n) {
            if (n % 100 == 0) {
                s = std::make_unique<zmq::socket_t>(context, zmq::socket_type::dealer);
                s->set(zmq::sockopt::linger, 0);
                s->set(zmq::sockopt::sndhwm, 0);
                s->connect(target);
                if (rng() % 2) {  // half the time, a peer that said hello first
                    std::vector<std::string> hello = seeds[0];
                    for (std::size_t k = 0; k < hello.size(); ++k)
                        s->send(zmq::buffer(hello[k]), k + 1 < hello.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
                }
            }
            const std::vector<std::string> frames = mutate(seeds[rng() % seeds.size()]);
            for (std::size_t k = 0; k < frames.size(); ++k)
                s->send(zmq::buffer(frames[k]), k + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));

    // Every process is alive and the cluster computes correctly.
    for (int pid : pids) CHECK(::kill(pid, 0) == 0);
    CHECK(cluster.worker_pids() == pids);
    ts::Client client(cluster);
    ts::Graph g;
    const ts::Key root = build_tree(g, 500, 8, ops().sum);
    CHECK(ts::compute_graph(g, {root})[0].as<std::int64_t>() == 500 * 501 / 2);
    CHECK(cluster.worker_pids() == pids);
}
