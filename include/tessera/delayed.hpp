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
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "tessera/graph.hpp"
#include "tessera/scheduler.hpp"

namespace tessera {

namespace detail {
struct DelayedNode;

/// The callable of one delayed call with its arguments, stored in its task's `local` payload and
/// run by the "tessera.delayed_call" operation with the task's inputs.
class DelayedCall {
public:
    virtual ~DelayedCall() = default;
    virtual Value operator()(std::span<const Value* const> inputs) const = 0;
};

// The closure lives inline in the same allocation as the shared_ptr control block: running a
// task touches one object, not a std::function and its separately allocated functor.
template <class Fn>
class DelayedCallOf final : public DelayedCall {
public:
    explicit DelayedCallOf(Fn fn) : fn_(std::move(fn)) {}
    Value operator()(std::span<const Value* const> inputs) const override { return fn_(inputs); }

private:
    mutable Fn fn_;  // mutable: the wrapped callable may be a mutable lambda
};

template <class Fn>
std::shared_ptr<const DelayedCall> make_delayed_call(Fn fn) {
    return std::make_shared<const DelayedCallOf<Fn>>(std::move(fn));
}
}  // namespace detail

/// A lazy value: the key of a task plus the graph that produces it.
class Delayed {
public:
    Delayed() = default;

    /// A Delayed that simply holds `value` (no computation); key "<name>-<unique token>".
    static Delayed from_value(Value value, std::string name = "literal");

    /// The task key, "<name>-<token>" without an index. The members below throw ValueError on a
    /// default-constructed (empty) Delayed.
    const Key& key() const;
    /// Every task needed to compute this value (shared dependencies once; no recursion).
    Graph graph() const;
    /// Runs the graph; throws what the failing task threw, with its key before the message.
    Value compute(const ComputeOptions& options = {}) const;
    /// Writes the graph as DOT (or SVG/PNG when Graphviz is installed); IOError on failure.
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
    std::string name{};
    /// Pure calls get deterministic keys from the function type and arguments, so equal calls are
    /// computed once; impure (default, as in Dask) get a unique key per call.
    bool pure = false;
};

namespace detail {

/// Creates the node for one call. `literal_token` (function identity and literal arguments) is
/// mixed into pure tokens together with the keys of `deps`.
Delayed make_delayed(const DelayedOptions& options, const char* fn_type,
                     std::uint64_t literal_token, bool literals_hashable,
                     std::vector<Delayed> deps, std::shared_ptr<const DelayedCall> call);

// Parameter types of non-generic callables; generic lambdas and overloaded callables have none,
// and Delayed inputs reach them as Value.
template <class F, class = void>
struct fn_traits {};
template <class F>
struct fn_traits<F, std::void_t<decltype(&F::operator())>> : fn_traits<decltype(&F::operator())> {};
template <class R, class... P>
struct fn_traits<R (*)(P...), void> {
    using args = std::tuple<std::decay_t<P>...>;
};
template <class R, class... P>
struct fn_traits<R (*)(P...) noexcept, void> : fn_traits<R (*)(P...)> {};
template <class R, class... P>
struct fn_traits<R(P...), void> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...) const, void> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...), void> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...) const noexcept, void> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...) noexcept, void> : fn_traits<R (*)(P...)> {};

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

// What the call keeps of each argument: literals by value; Delayed arguments only as a marker
// (their values arrive as inputs, and holding the Delayed would keep the graph alive twice).
struct DelayedArg {};
struct DelayedListArg {};
template <class A, class D = std::decay_t<A>>
using stored_arg_t =
    std::conditional_t<std::is_same_v<D, Delayed>, DelayedArg,
                       std::conditional_t<is_delayed_vector<D>::value, DelayedListArg, D>>;

template <class A>
stored_arg_t<A> store_arg(A&& a) {
    using S = stored_arg_t<A>;
    if constexpr (std::is_same_v<S, DelayedArg> || std::is_same_v<S, DelayedListArg>) {
        return S{};
    } else {
        return S(std::forward<A>(a));
    }
}

struct ArgSlot {
    int begin = -1;  // first input position, -1 for a literal
    int count = 0;
};

template <class P, class S>
decltype(auto) unpack_arg(const S& stored, ArgSlot slot, std::span<const Value* const> in) {
    if constexpr (std::is_same_v<S, DelayedArg>) {
        return in[static_cast<std::size_t>(slot.begin)]->template as<P>();
    } else if constexpr (std::is_same_v<S, DelayedListArg>) {
        if constexpr (std::is_same_v<P, Value>) {
            ValueList list;
            list.reserve(static_cast<std::size_t>(slot.count));
            for (int k = 0; k < slot.count; ++k)
                list.push_back(*in[static_cast<std::size_t>(slot.begin + k)]);
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
        return (stored);
    }
}

// Mixes one argument into a pure token; clears `hashable` for literals it cannot hash.
template <class A>
void hash_arg(const A& a, Tokenizer& tok, bool& hashable) {
    using D = std::decay_t<A>;
    if constexpr (std::is_same_v<D, Delayed>) {
        tok.add(std::string_view("dep"));
    } else if constexpr (is_delayed_vector<D>::value) {
        tok.add(std::string_view("deps")).add(static_cast<std::int64_t>(a.size()));
    } else if constexpr (std::is_same_v<D, bool>) {
        tok.add(std::string_view("bool")).add(static_cast<std::int64_t>(a));
    } else if constexpr (std::is_integral_v<D> || std::is_enum_v<D>) {
        tok.add(std::string_view("int")).add(static_cast<std::int64_t>(a));
    } else if constexpr (std::is_floating_point_v<D>) {
        tok.add(std::string_view("float")).add(static_cast<double>(a));
    } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
        tok.add(std::string_view("str")).add(std::string_view(a));
    } else {
        hashable = false;
    }
}

// The callable's identity: its type (in make_delayed), plus the address of a function pointer
// or the bytes of a stateful functor whose bytes say everything (captured ints, say).
template <class F>
void hash_function(const F& fn, Tokenizer& tok, bool& hashable) {
    if constexpr (std::is_pointer_v<F>) {
        tok.add(static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(fn)));
    } else if constexpr (std::is_empty_v<F>) {
        tok.add(std::string_view("empty"));
    } else if constexpr (std::is_trivially_copyable_v<F> && std::has_unique_object_representations_v<F>) {
        tok.add_bytes(&fn, sizeof(F));
    } else {
        hashable = false;
    }
}

template <class F, class Stored, std::size_t... I>
Value invoke_unpacked(F& fn, const Stored& stored, const std::array<ArgSlot, sizeof...(I)>& slots,
                      [[maybe_unused]] std::span<const Value* const> in, std::index_sequence<I...>) {
    using R = decltype(fn(unpack_arg<typename param_type<F, I>::type>(std::get<I>(stored), slots[I], in)...));
    if constexpr (std::is_void_v<R>) {
        fn(unpack_arg<typename param_type<F, I>::type>(std::get<I>(stored), slots[I], in)...);
        return Value();
    } else {
        return Value::from(
            fn(unpack_arg<typename param_type<F, I>::type>(std::get<I>(stored), slots[I], in)...));
    }
}

}  // namespace detail

/// A function wrapped for lazy calls; calling it returns a Delayed.
template <class F>
class DelayedFunction {
public:
    DelayedFunction(F fn, DelayedOptions options) : fn_(std::move(fn)), options_(std::move(options)) {}

    /// Arguments may be Delayed, std::vector<Delayed> (a list dependency) or plain copyable
    /// values. Throws ValueError when a Delayed argument is empty.
    template <class... A>
    Delayed operator()(A&&... args) const {
        if constexpr (detail::has_traits<F>::value)
            static_assert(std::tuple_size_v<typename detail::fn_traits<F>::args> == sizeof...(A),
                          "wrong number of arguments for this delayed function");
        std::vector<Delayed> deps;
        std::array<detail::ArgSlot, sizeof...(A)> slots{};
        [[maybe_unused]] std::size_t pos = 0;
        [[maybe_unused]] auto collect = [&](const auto& a) {
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
        if (options_.pure) {
            detail::hash_function(fn_, tok, hashable);
            (detail::hash_arg(args, tok, hashable), ...);
        }
        auto stored = std::make_tuple(detail::store_arg(std::forward<A>(args))...);
        auto call = detail::make_delayed_call(
            [fn = fn_, stored = std::move(stored), slots](std::span<const Value* const> in) mutable -> Value {
                return detail::invoke_unpacked(fn, stored, slots, in, std::index_sequence_for<A...>{});
            });
        return detail::make_delayed(options_, typeid(F).name(), tok.digest(), hashable,
                                    std::move(deps), std::move(call));
    }

    const DelayedOptions& options() const { return options_; }

private:
    F fn_;
    DelayedOptions options_;
};

/// Wraps `fn` so that calls build tasks instead of running. Delayed arguments reach `fn`
/// converted to its parameter types with Value::as (a std::vector<Delayed> to a std::vector of
/// the element type); generic lambdas receive them as Value (a list for std::vector<Delayed>).
/// Other arguments are copied into the task. A conversion error surfaces from compute().
///
///     auto scale = ts::delayed([](auto v, double k) { return v.template as<double>() * k; });
///     ts::Delayed y = scale(x, 2.0);
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
    {
        GraphBatch batch(graph);
        (collections.add_to_graph(graph, keys), ...);
        batch.finish();
    }
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
