// einsum: parses the subscripts, takes diagonals of repeated subscripts ("tessera.diagonal": block
// b of the result is the diagonal of the input block on the block diagonal), sums subscripts no
// other operand or the output needs (ts::sum / ts::any), contracts the operands left to right
// (array/linalg.cpp's blocked contraction, or an elementwise product when nothing is contracted)
// and transposes to the output order.
#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "array/linalg_kernels.hpp"
#include "array/shape_ops.hpp"
#include "tessera/indexing.hpp"
#include "tessera/linalg.hpp"

namespace tessera::detail {

namespace {

struct DiagonalParams {
    std::int64_t first = 0, second = 0;  // the two axes; first < second

    template <class Archive>
    void serialize(Archive& ar) {
        ar(first, second);
    }
};

Value diagonal_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<DiagonalParams>(ctx.task.params, "diagonal");
    if (ctx.inputs.size() != 1) throw ProtocolError("diagonal: {} inputs instead of 1", ctx.inputs.size());
    const NDArray& block = ctx.inputs[0]->array();
    const auto first = static_cast<std::size_t>(p.first), second = static_cast<std::size_t>(p.second);
    if (p.first < 0 || p.first >= p.second || p.second >= block.ndim() || block.shape()[first] != block.shape()[second])
        throw ProtocolError("diagonal: axes {} and {} for a block of shape {}", p.first, p.second,
                            shape_str(block.shape()));
    // A strided view walking both axes at once, copied contiguous.
    Shape shape = block.shape();
    std::vector<std::int64_t> strides = block.strides();
    strides[first] += strides[second];
    shape.erase(shape.begin() + p.second);
    strides.erase(strides.begin() + p.second);
    return Value(NDArray(block.dtype(), std::move(shape), std::move(strides), block.offset(), block.buffer()).copy());
}

OpId diagonal_op_id() {
    static const OpId id = register_op("tessera.diagonal", &diagonal_op);
    return id;
}

[[maybe_unused]] const OpId diagonal_registered = diagonal_op_id();

class DiagonalNode final : public ArrayNode {
public:
    DiagonalNode(NodePtr input, Chunks chunks, DiagonalParams params, std::uint64_t token)
        : ArrayNode("diagonal", input->dtype(), std::move(chunks), {input}, token), params_(params) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const std::string params = encode_shape_params(params_);
        Shape in_block(static_cast<std::size_t>(in.ndim()));
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            for (std::int64_t axis = 0; axis < in.ndim(); ++axis)
                in_block[static_cast<std::size_t>(axis)] =
                    axis < params_.second    ? block[static_cast<std::size_t>(axis)]
                    : axis == params_.second ? block[static_cast<std::size_t>(params_.first)]
                                             : block[static_cast<std::size_t>(axis - 1)];
            Task task;
            task.key = block_key(block);
            task.op = diagonal_op_id();
            task.params = params;
            task.deps = {in.block_key(in_block)};
            task.nbytes_hint = shape_size(chunks().block_shape(block)) * dtype().itemsize();
            ctx.graph.add(std::move(task));
        });
    }

private:
    DiagonalParams params_;
};

/// The diagonal over axes first < second of equal extent, kept at position `first`.
Array diagonal(Array x, std::int64_t first, std::int64_t second) {
    if (x.chunks().has_unknown()) throw NotImplemented("einsum: arrays with unknown chunk sizes are not supported");
    const BlockSizes sizes = unified_sizes(x.chunks().sizes(first), x.chunks().sizes(second));
    x = rechunk_axis(rechunk_axis(x, first, sizes), second, sizes);
    std::vector<BlockSizes> out = x.chunks().axes();
    out.erase(out.begin() + second);
    Tokenizer tok;
    tok.add(first).add(second);
    return Array(std::make_shared<DiagonalNode>(x.node(), Chunks(std::move(out)), DiagonalParams{first, second},
                                                tok.digest()));
}

// ------------------------------------------------------------------------------ subscripts

struct Term {
    Array x;
    std::string letters;  // one per axis
};

struct Parsed {
    std::vector<std::string> inputs;
    std::string output;
};

/// NumPy's ellipsis: each '...' becomes letters unused by the subscripts (uppercase first),
/// standing for the operand's axes the explicit subscripts leave, right-aligned across operands
/// and broadcast (an axis of length 1 is stretched with broadcast_to). With '->' the output's
/// '...' takes them (absent: they are summed); without, they lead the implicit output.
/// `operands` may be replaced by broadcast views; `text` has no blanks.
std::string expand_ellipsis(const std::string& text, std::string_view subscripts, std::vector<Array>& operands) {
    const auto arrow = text.find("->");
    const std::string lhs = text.substr(0, arrow);
    std::vector<std::string> terms;
    for (std::size_t start = 0;;) {
        const auto comma = lhs.find(',', start);
        terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    auto check_dots = [&](const std::string& term) {
        const auto at = term.find("...");
        if (term.find('.') != at || (at != std::string::npos && term.find('.', at + 3) != std::string::npos))
            throw ValueError("einsum: '.' must come as one '...' per operand in subscripts '{}'", subscripts);
        return at;
    };
    if (terms.size() != operands.size())
        throw ValueError("einsum: subscripts '{}' name {} operands but {} were given", subscripts, terms.size(),
                         operands.size());
    // The ellipsis axes of every operand, right-aligned: rank e = max over operands.
    std::vector<std::int64_t> ranks(terms.size(), 0);
    std::int64_t e = 0;
    for (std::size_t k = 0; k < terms.size(); ++k) {
        if (check_dots(terms[k]) == std::string::npos) continue;
        const auto named = static_cast<std::int64_t>(terms[k].size()) - 3;
        ranks[k] = operands[k].ndim() - named;
        if (ranks[k] < 0)
            throw ValueError("einsum: operand {} has {} dimensions but its subscripts '{}' name {}", k,
                             operands[k].ndim(), terms[k], named);
        e = std::max(e, ranks[k]);
    }
    std::string letters;
    for (char ch : std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
        if (static_cast<std::int64_t>(letters.size()) < e && text.find(ch) == std::string::npos) letters.push_back(ch);
    if (static_cast<std::int64_t>(letters.size()) < e)
        throw ValueError("einsum: too many axes under '...' in subscripts '{}'", subscripts);
    // Broadcast sizes of the ellipsis axes.
    std::vector<std::int64_t> size(static_cast<std::size_t>(e), 1);
    for (std::size_t k = 0; k < terms.size(); ++k) {
        const std::size_t at = terms[k].find("...");
        for (std::int64_t j = 0; j < ranks[k]; ++j) {
            const std::int64_t n = operands[k].shape(static_cast<std::int64_t>(at) + j);
            auto& s = size[static_cast<std::size_t>(e - ranks[k] + j)];
            if (n != 1 && s != 1 && n != s)
                throw ValueError("einsum: operands could not be broadcast together under '...' in subscripts '{}'",
                                 subscripts);
            if (n != 1) s = n;
        }
    }
    std::string out_lhs;
    for (std::size_t k = 0; k < terms.size(); ++k) {
        const std::size_t at = terms[k].find("...");
        if (at != std::string::npos) {
            Shape target = operands[k].shape();
            bool stretch = false;
            for (std::int64_t j = 0; j < ranks[k]; ++j) {
                auto& t = target[at + static_cast<std::size_t>(j)];
                const std::int64_t want = size[static_cast<std::size_t>(e - ranks[k] + j)];
                stretch = stretch || t != want;
                t = want;
            }
            if (stretch) operands[k] = broadcast_to(operands[k], target);
            terms[k].replace(at, 3, letters.substr(static_cast<std::size_t>(e - ranks[k])));
        }
        out_lhs += (k ? "," : "") + terms[k];
    }
    if (arrow == std::string::npos) {
        // Implicit output: the ellipsis axes, then the subscripts appearing once, sorted.
        std::string singles;
        for (char ch : lhs)
            if (std::isalpha(static_cast<unsigned char>(ch)) && std::count(lhs.begin(), lhs.end(), ch) == 1)
                singles.push_back(ch);
        std::sort(singles.begin(), singles.end());
        return out_lhs + "->" + letters + singles;
    }
    std::string rhs = text.substr(arrow + 2);
    const auto at = check_dots(rhs);
    if (at != std::string::npos) rhs.replace(at, 3, letters);
    return out_lhs + "->" + rhs;
}

Parsed parse(std::string_view subscripts, const std::vector<Array>& operands, std::string text = {}) {
    if (text.empty())
        for (char ch : subscripts)
            if (ch != ' ') text.push_back(ch);
    const auto arrow = text.find("->");
    if (arrow != std::string::npos && text.find("->", arrow + 2) != std::string::npos)
        throw ValueError("einsum: subscripts '{}' contain more than one '->'", subscripts);
    const std::string lhs = text.substr(0, arrow);
    Parsed parsed;
    for (std::size_t start = 0;;) {
        const auto comma = lhs.find(',', start);
        parsed.inputs.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    const std::string rhs = arrow == std::string::npos ? std::string() : text.substr(arrow + 2);
    for (const auto& part : {lhs, rhs})
        for (char ch : part)
            if (ch != ',' && !std::isalpha(static_cast<unsigned char>(ch)))
                throw ValueError("einsum: invalid character '{}' in subscripts '{}'", ch, subscripts);
    if (rhs.find(',') != std::string::npos)
        throw ValueError("einsum: invalid character ',' in subscripts '{}'", subscripts);
    if (parsed.inputs.size() != operands.size())
        throw ValueError("einsum: subscripts '{}' name {} operands but {} were given", subscripts,
                         parsed.inputs.size(), operands.size());
    // Every subscript has one size.
    std::string seen;
    std::vector<std::pair<std::int64_t, std::size_t>> size_of;  // (size, operand) per seen letter
    for (std::size_t k = 0; k < operands.size(); ++k) {
        const std::string& term = parsed.inputs[k];
        if (static_cast<std::int64_t>(term.size()) != operands[k].ndim())
            throw ValueError("einsum: operand {} has {} dimensions but its subscripts '{}' name {}", k,
                             operands[k].ndim(), term, term.size());
        for (std::size_t axis = 0; axis < term.size(); ++axis) {
            const std::int64_t size = operands[k].shape(static_cast<std::int64_t>(axis));
            const auto at = seen.find(term[axis]);
            if (at == std::string::npos) {
                seen.push_back(term[axis]);
                size_of.emplace_back(size, k);
            } else if (size_of[at].first != size) {
                throw ValueError("einsum: subscript '{}' has size {} in operand {} but size {} in operand {}",
                                 term[axis], size_of[at].first, size_of[at].second, size, k);
            }
        }
    }
    if (arrow != std::string::npos) {
        for (std::size_t pos = 0; pos < rhs.size(); ++pos) {
            if (seen.find(rhs[pos]) == std::string::npos)
                throw ValueError("einsum: output subscript '{}' does not appear in the inputs of '{}'", rhs[pos],
                                 subscripts);
            if (rhs.find(rhs[pos], pos + 1) != std::string::npos)
                throw ValueError("einsum: output subscript '{}' appears more than once in '{}'", rhs[pos], subscripts);
        }
        parsed.output = rhs;
    } else {
        // Implicit output: the subscripts appearing exactly once, in alphabetical order.
        for (char ch : seen) {
            std::size_t count = 0;
            for (const auto& term : parsed.inputs) count += static_cast<std::size_t>(std::count(term.begin(), term.end(), ch));
            if (count == 1) parsed.output.push_back(ch);
        }
        std::sort(parsed.output.begin(), parsed.output.end());
    }
    return parsed;
}

bool contains(const std::string& s, char ch) { return s.find(ch) != std::string::npos; }

// Sums the axes whose subscripts are not in `keep` (in the operand's dtype, as einsum does).
Term sum_unneeded(Term t, const std::string& keep) {
    std::vector<std::int64_t> axes;
    std::string letters;
    for (std::size_t axis = 0; axis < t.letters.size(); ++axis) {
        if (contains(keep, t.letters[axis])) letters.push_back(t.letters[axis]);
        else axes.push_back(static_cast<std::int64_t>(axis));
    }
    if (axes.empty()) return t;
    t.x = t.x.dtype().is_bool() ? any(t.x, Axes(axes)) : sum(t.x, Axes(axes), {.dtype = t.x.dtype()});
    t.letters = std::move(letters);
    return t;
}

Array permuted(const Term& t, const std::string& order) {
    std::vector<std::int64_t> perm;
    for (char ch : order) perm.push_back(static_cast<std::int64_t>(t.letters.find(ch)));
    return transpose(t.x, perm);
}

// The product of two terms keeping the subscripts in `keep`.
Term combine(const Term& a, const Term& b, const std::string& keep) {
    std::string batch, a_free, b_free, summed;
    for (char ch : a.letters) {
        if (!contains(b.letters, ch)) a_free.push_back(ch);
        else if (contains(keep, ch)) batch.push_back(ch);
        else summed.push_back(ch);
    }
    for (char ch : b.letters)
        if (!contains(a.letters, ch)) b_free.push_back(ch);
    Term out{Array(), batch + a_free + b_free};
    if (summed.empty()) {
        // Nothing contracted: an elementwise (broadcast) product in the output order.
        auto expanded = [](Array x, std::int64_t start, std::int64_t count) {
            if (count == 0) return x;
            std::vector<std::int64_t> axes;
            for (std::int64_t k = 0; k < count; ++k) axes.push_back(start + k);
            return expand_dims(x, Axes(axes));
        };
        const auto nb = static_cast<std::int64_t>(batch.size()), nfa = static_cast<std::int64_t>(a_free.size());
        const Array xa = expanded(permuted(a, batch + a_free), nb + nfa, static_cast<std::int64_t>(b_free.size()));
        const Array xb = expanded(permuted(b, batch + b_free), nb, nfa);
        out.x = xa * xb;
        return out;
    }
    ContractSpec spec;
    for (char ch : batch) {
        spec.a_batch.push_back(static_cast<std::int64_t>(a.letters.find(ch)));
        spec.b_batch.push_back(static_cast<std::int64_t>(b.letters.find(ch)));
    }
    for (char ch : a_free) spec.a_free.push_back(static_cast<std::int64_t>(a.letters.find(ch)));
    for (char ch : b_free) spec.b_free.push_back(static_cast<std::int64_t>(b.letters.find(ch)));
    for (char ch : summed) {
        spec.a_contract.push_back(static_cast<std::int64_t>(a.letters.find(ch)));
        spec.b_contract.push_back(static_cast<std::int64_t>(b.letters.find(ch)));
    }
    out.x = contract(a.x, b.x, spec, "einsum");
    return out;
}

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array einsum(std::string_view subscripts, const std::vector<Array>& operands) {
    using detail::Term;
    if (operands.empty()) throw ValueError("einsum: no operands given for subscripts '{}'", subscripts);
    std::string text;
    for (char ch : subscripts)
        if (ch != ' ') text.push_back(ch);
    std::vector<Array> inputs = operands;
    if (text.find('.') != std::string::npos) text = detail::expand_ellipsis(text, subscripts, inputs);
    const detail::Parsed parsed = detail::parse(subscripts, inputs, text);
    std::vector<Term> terms;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        Term t{inputs[k], parsed.inputs[k]};
        // Repeated subscripts within one operand: take the diagonal until each appears once.
        for (std::size_t first = 0; first < t.letters.size(); ++first) {
            for (std::size_t second; (second = t.letters.find(t.letters[first], first + 1)) != std::string::npos;) {
                t.x = detail::diagonal(t.x, static_cast<std::int64_t>(first), static_cast<std::int64_t>(second));
                t.letters.erase(second, 1);
            }
        }
        terms.push_back(std::move(t));
    }
    // What is still needed after term k: the output and the subscripts of the later terms.
    auto needed_after = [&](std::size_t k) {
        std::string keep = parsed.output;
        for (std::size_t later = k + 1; later < terms.size(); ++later) keep += terms[later].letters;
        return keep;
    };
    // Sum first the subscripts only one operand has (and the output drops).
    for (std::size_t k = 0; k < terms.size(); ++k) {
        std::string keep = parsed.output;
        for (std::size_t other = 0; other < terms.size(); ++other)
            if (other != k) keep += terms[other].letters;
        terms[k] = detail::sum_unneeded(std::move(terms[k]), keep);
    }
    Term current = terms[0];
    for (std::size_t k = 1; k < terms.size(); ++k) {
        const std::string keep = needed_after(k);
        current = detail::combine(detail::sum_unneeded(std::move(current), keep + terms[k].letters), terms[k], keep);
    }
    current = detail::sum_unneeded(std::move(current), parsed.output);
    return detail::permuted(current, parsed.output);
}

}  // namespace tessera
