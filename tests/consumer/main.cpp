// A user program built against the installed package.
#include <cstdint>
#include <iostream>
#include <tessera/tessera.hpp>
namespace ts = tessera;
int main() {
    auto inc = ts::delayed([](std::int64_t i) { return i + 1; }, {.name = "inc"});
    auto add = ts::delayed([](std::int64_t a, std::int64_t b) { return a + b; }, {.name = "add"});
    std::int64_t r = add(inc(1), inc(2)).compute().as<std::int64_t>();
    std::cout << "tessera " << ts::version() << " result " << r << "\n";
    return r == 5 ? 0 : 1;
}
