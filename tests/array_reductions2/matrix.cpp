// Every NumPy fixture case over four chunkings on the sync scheduler (size-1 blocks with
// split_every=2, so the trees are deep), and over the ragged chunking on the threads scheduler.
#include <doctest/doctest.h>

#include "fixtures.hpp"

using namespace red_test;

TEST_CASE("reductions2 agree with NumPy 1.24 over every chunking" * doctest::timeout(300)) {
    const auto& cases = fixture_cases();
    REQUIRE(cases.size() > 5000);
    std::int64_t checked = 0;
    for (const Case& c : cases) {
        const auto [rtol, atol] = tolerance(c);
        for (const auto& [label, spec] : chunkings(c.input.shape())) {
            const ts::Array x = ts::from_array(c.input, spec);
            const int split_every = label == "ones" ? 2 : 0;
            const ts::Array r = run_case(c, x, split_every);
            const ts::NDArray got = r.compute({.scheduler = "sync"});
            const std::string diff = compare(got, c.expected, rtol, atol);
            if (!diff.empty()) FAIL_CHECK(c.describe() << " [" << label << "]: " << diff);
            // The declared chunks describe the computed blocks.
            if (r.shape() != got.shape()) FAIL_CHECK(c.describe() << " [" << label << "]: declared shape differs");
            ++checked;
        }
    }
    CHECK(checked >= 4 * 5000);
}

TEST_CASE("reductions2 on the threads scheduler" * doctest::timeout(300)) {
    const auto& cases = fixture_cases();
    std::int64_t k = 0;
    for (const Case& c : cases) {
        if (++k % 3 != 0) continue;  // a third of the cases: the sync matrix covers the rest
        const auto [rtol, atol] = tolerance(c);
        const auto specs = chunkings(c.input.shape());
        const auto& [label, spec] = specs.size() > 2 ? specs[2] : specs[0];
        const ts::Array x = ts::from_array(c.input, spec);
        const ts::NDArray got = run_case(c, x, 2).compute({.scheduler = "threads", .num_threads = 4});
        const std::string diff = compare(got, c.expected, rtol, atol);
        if (!diff.empty()) FAIL_CHECK(c.describe() << " [threads " << label << "]: " << diff);
    }
}
