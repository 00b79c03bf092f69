#pragma once
/// \file delayed.hpp
/// Lazy calls of arbitrary C++ functions, composed into a task graph and computed together,
/// like dask.delayed; and compute(a, b, ...) for any mix of collections.
///
///     auto inc = ts::delayed([](std::int64_t i) { return i + 1; }, {.name = "inc"});
///     auto add_all = ts::delayed([](std::vector<std::int64_t> xs) { ... }, {.name = "add_all"});
///     ts::Delayed total = add_all(std::vector<ts::Delayed>{inc(1), inc(2)});
///     std::int64_t r = total.compute().as<std::int64_t>();   // 5

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tessera/graph.hpp"
#include "tessera/scheduler.hpp"

namespace tessera {

namespace detail {
struct DelayedNode;
using DelayedCall = std::function<Value(std::span<const Value* const>)>;
}  // namespace detail

/// A lazy value: the key of a task plus the graph that produces it.
class Delayed {
public:
    Delayed() = default;

    /// A Delayed that simply holds `value` (no computation).
    static Delayed from_value(Value value, std::string name = "literal");

    const Key& key() const;
    /// Every task needed to compute this value.
    Graph graph() const;
    /// Runs the graph; throws what the failing task threw, with its key.
    Value compute(const ComputeOptions& options = {}) const;
    /// Writes the graph as DOT (or SVG/PNG when Graphviz is installed).
    void visualize(const std::string& path) const;

    // Collection protocol (used by compute(a, b, ...)).
    void add_to_graph(Graph& graph, std::vector<Key>& keys) const;
    Value finalize(std::span<const Value> values) const { return values[0]; }
    std::size_t n_keys() const { return 1; }

    const std::shared_ptr<const detail::DelayedNode>& node() const { return node_; }
    explicit Delayed(std::shared_ptr<const detail::DelayedNode> node) : node_(std::move(node)) {}

private:
    std::shared_ptr<const detail::DelayedNode> node_;
};

struct DelayedOptions {
    /// Task group name (key prefix); default "delayed".
    std::string name;
    /// Pure calls get deterministic keys from the function type and arguments, so equal calls are
    /// computed once; impure (default, as in Dask) get a unique key per call.
    bool pure = false;
};

namespace detail {

/// Creates the node for one call. `literal_token` is mixed into pure tokens.
Delayed make_delayed(const DelayedOptions& options, const char* fn_type,
                     std::uint64_t literal_token, bool literals_hashable,
                     std::vector<Delayed> deps, DelayedCall call);

template <class F, class = void>
struct fn_traits {};  // generic lambdas and overloaded callables: Delayed inputs arrive as Value
template <class F>
struct fn_traits<F, std::void_t<decltype(&F::operator())>> : fn_traits<decltype(&F::operator())> {};
template <class R, class... P>
struct fn_traits<R (*)(P...), void> {
    using args = std::tuple<std::decay_t<P>...>;
    static constexpr bool known = true;
};
template <class R, class... P>
struct fn_traits<R(P...), void> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...) const, void> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...), void> : fn_traits<R (*)(P...)> {};

template <class F, class = void>
struct has_traits : std::false_type {};
template <class F>
struct has_traits<F, std::void_t<typename fn_traits<F>::args>> : std::true_type {};

template <class F, std::size_t I>
struct param_type {
    using type = Value;
};
template <class F, std::size_t I>
    requires(has_traits<F>::value)
struct param_type<F, I> {
    using type = std::tuple_element_t<I, typename fn_traits<F>::args>;
};

template <class T>
struct is_delayed_vector : std::false_type {};
template <class A>
struct is_delayed_vector<std::vector<Delayed, A>> : std::true_type {};

struct ArgSlot {
    int begin = -1;  // first input position, -1 for a literal
    int count = 0;
};

template <class P, class A>
decltype(auto) unpack_arg(const A& literal, ArgSlot slot, std::span<const Value* const> in) {
    using D = std::decay_t<A>;
    if constexpr (std::is_same_v<D, Delayed>) {
        return in[static_cast<std::size_t>(slot.begin)]->template as<P>();
    } else if constexpr (is_delayed_vector<D>::value) {
        if constexpr (std::is_same_v<P, Value>) {
            ValueList list;
            for (int k = 0; k < slot.count; ++k) list.push_back(*in[static_cast<std::size_t>(slot.begin + k)]);
            return Value(std::move(list));
        } else {
            P out;
            out.reserve(static_cast<std::size_t>(slot.count));
            for (int k = 0; k < slot.count; ++k)
                out.push_back(in[static_cast<std::size_t>(slot.begin + k)]
                                  ->template as<typename P::value_type>());
            return out;
        }
    } else {
        return (literal);
    }
}

template <class A>
void hash_literal(const A& a, Tokenizer& tok, bool& hashable) {
    using D = std::decay_t<A>;
    if constexpr (std::is_same_v<D, Delayed> || is_delayed_vector<D>::value) {
        tok.add(std::string_view("<dep>"));
    } else if constexpr (std::is_integral_v<D>) {
        tok.add(static_cast<std::int64_t>(a));
    } else if constexpr (std::is_floating_point_v<D>) {
        tok.add(static_cast<double>(a));
    } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
        tok.add(std::string_view(a));
    } else {
        hashable = false;
    }
}

template <class F, class Lits, std::size_t... I>
Value invoke_unpacked(const F& fn, const Lits& lits, const std::array<ArgSlot, sizeof...(I)>& slots,
                      std::span<const Value* const> in, std::index_sequence<I...>) {
    using R = decltype(fn(unpack_arg<typename param_type<F, I>::type>(std::get<I>(lits), slots[I], in)...));
    if constexpr (std::is_void_v<R>) {
        fn(unpack_arg<typename param_type<F, I>::type>(std::get<I>(lits), slots[I], in)...);
        return Value();
    } else {
        return Value::from(
            fn(unpack_arg<typename param_type<F, I>::type>(std::get<I>(lits), slots[I], in)...));
    }
}

}  // namespace detail

/// A function wrapped for lazy calls; calling it returns a Delayed.
template <class F>
class DelayedFunction {
public:
    DelayedFunction(F fn, DelayedOptions options) : fn_(std::move(fn)), options_(std::move(options)) {}

    /// Arguments may be Delayed, std::vector<Delayed> (a list dependency) or plain values.
    template <class... A>
    Delayed operator()(A&&... args) const {
        std::vector<Delayed> deps;
        std::array<detail::ArgSlot, sizeof...(A)> slots{};
        std::size_t pos = 0;
        auto collect = [&](const auto& a) {
            using D = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<D, Delayed>) {
                slots[pos] = {static_cast<int>(deps.size()), 1};
                deps.push_back(a);
            } else if constexpr (detail::is_delayed_vector<D>::value) {
                slots[pos] = {static_cast<int>(deps.size()), static_cast<int>(a.size())};
                deps.insert(deps.end(), a.begin(), a.end());
            }
            ++pos;
        };
        (collect(args), ...);
        Tokenizer tok;
        bool hashable = true;
        (detail::hash_literal(args, tok, hashable), ...);
        auto lits = std::make_tuple(std::decay_t<A>(std::forward<A>(args))...);
        detail::DelayedCall call = [fn = fn_, lits = std::move(lits),
                                    slots](std::span<const Value* const> in) -> Value {
            return detail::invoke_unpacked(fn, lits, slots, in, std::index_sequence_for<A...>{});
        };
        return detail::make_delayed(options_, typeid(F).name(), tok.digest(), hashable,
                                    std::move(deps), std::move(call));
    }

private:
    F fn_;
    DelayedOptions options_;
};

/// Wraps `fn` so that calls build tasks instead of running.
template <class F>
DelayedFunction<std::decay_t<F>> delayed(F&& fn, DelayedOptions options = {}) {
    return DelayedFunction<std::decay_t<F>>(std::forward<F>(fn), std::move(options));
}

/// Anything compute() accepts: it adds its tasks and output keys to a graph and turns the
/// computed values of those keys back into a result.
template <class C>
concept Collection = requires(const C& c, Graph& g, std::vector<Key>& keys, std::span<const Value> v) {
    c.add_to_graph(g, keys);
    c.finalize(v);
    c.n_keys();
};

/// Computes several collections as ONE graph (shared work is done once) and returns their
/// results as a tuple: `auto [mu, sd] = ts::compute(mean, std);`
template <Collection... C>
auto compute(const C&... collections) {
    Graph graph;
    std::vector<Key> keys;
    (collections.add_to_graph(graph, keys), ...);
    std::vector<Value> values = compute_graph(graph, keys);
    std::size_t pos = 0;
    auto take = [&](const auto& c) {
        std::span<const Value> part(values.data() + pos, c.n_keys());
        pos += c.n_keys();
        return c.finalize(part);
    };
    return std::tuple{take(collections)...};
}

}  // namespace tessera
