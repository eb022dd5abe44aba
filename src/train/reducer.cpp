#include "train/reducer.hpp"

#include <algorithm>

#include "digitnet/core/parallel.hpp"

namespace digitnet {
namespace {

// The whole batch on this process, in chunks of at most kChunk rows.
class Alone final : public Reducer {
 public:
  std::unique_ptr<Reducer> clone() const override { return std::make_unique<Alone>(*this); }
  std::vector<Share> shares(std::size_t count) const override {
    std::vector<Share> out;
    for (std::size_t c0 = 0; c0 < count; c0 += kChunk) out.push_back({c0, std::min(count, c0 + kChunk), c0 > 0});
    return out;
  }
  bool finish(DenseLayers<float>&, BatchTotals&) override { return true; }
  bool alone() const override { return true; }
};

// Reduction::ordered: the batch in chunks as alone, this process taking its share of each
// chunk; the shares' gradients are summed by comm in its fixed order.
class Ordered final : public Reducer {
 public:
  explicit Ordered(Comm& comm) : comm_(comm) {}
  std::unique_ptr<Reducer> clone() const override { return std::make_unique<Ordered>(*this); }

  std::vector<Share> shares(std::size_t count) const override {
    const auto R = static_cast<std::size_t>(comm_.size()), me = static_cast<std::size_t>(comm_.rank());
    std::vector<Share> out;
    for (std::size_t c0 = 0; c0 < count; c0 += kChunk) {
      const auto [r0, r1] = even_share(std::min(kChunk, count - c0), me, R);
      if (r1 > r0) out.push_back({c0 + r0, c0 + r1, !out.empty()});
    }
    return out;
  }

  void begin(const DenseLayers<float>&, std::size_t) override { any_ = false; }
  void add(DenseLayers<float>&, float) override { any_ = true; }

  // One sum for the batch: the gradients, and after them its loss, right answers and stop votes.
  bool finish(DenseLayers<float>& layers, BatchTotals& t) override {
    const std::span<float> g = layers.all_gradients(), all = layers.gradients_and_tail();
    if (!any_) std::fill(g.begin(), g.end(), 0.0f);  // a process with no rows adds nothing
    float* stats = all.data() + g.size();
    stats[0] = static_cast<float>(t.loss);
    stats[1] = static_cast<float>(t.correct);  // whole numbers below 2^24: exact
    stats[2] = t.stop ? 1.0f : 0.0f;
    comm_.sum(all.first(g.size() + 3));
    t = {stats[0], static_cast<std::size_t>(stats[1]), stats[2] > 0};
    return true;
  }

 private:
  Comm& comm_;
  bool any_ = false;
};

// Reduction::exact: the batch in micro-batches of a fixed size, whole ones to each process
// (contiguous runs of them, in order). Each micro-batch's gradient is rounded onto a grid
// 2^spread coarser than its own largest value needs (add_on_grid); while the largest values of
// all micro-batches lie within 2^spread of each other, every sum on those grids is exact, so
// the order of the additions (and the number of processes) cannot change a bit. If they do
// not (checked across processes), the batch is computed again on the grid of the largest,
// with the same draws. With spread 16 a term keeps 52 - 16 - ceil(log2 micro-batches) bits:
// float's 24 for up to 2^12 micro-batches.
class Exact final : public Reducer {
 public:
  Exact(Comm& comm, std::size_t micro_batch, int spread) : comm_(comm), m_(micro_batch), spread_(spread) {}
  std::unique_ptr<Reducer> clone() const override { return std::make_unique<Exact>(*this); }

  std::vector<Share> shares(std::size_t count) const override {
    const std::size_t M = (count + m_ - 1) / m_;
    const auto [k0, k1] = even_share(M, static_cast<std::size_t>(comm_.rank()), static_cast<std::size_t>(comm_.size()));
    std::vector<Share> out;
    for (std::size_t k = k0; k < k1; ++k) out.push_back({k * m_, std::min(count, (k + 1) * m_), false});
    return out;
  }

  void begin(const DenseLayers<float>& layers, std::size_t count) override {
    // Per segment (each parameter tensor's gradient, and the loss), over this process's
    // micro-batches: the largest exponent, and minus the smallest of those not all zero (so
    // that one max() across processes finds both).
    micro_batches_ = (count + m_ - 1) / m_;
    range_.assign(2 * (layers.slots().size() + 1), kAllZero);
    sums_.assign(layers.all_gradients().size() + kStats, 0.0);
  }

  void add(DenseLayers<float>& layers, float loss) override {
    const auto& slots = layers.slots();
    const std::size_t G = layers.all_gradients().size(), S = slots.size() + 1;
    for (std::size_t s = 0; s < S; ++s) {
      const bool is_loss = s + 1 == S;
      const std::span<const float> seg =
          is_loss ? std::span<const float>(&loss, 1) : layers.gradients().subspan(slots[s].offset, slots[s].size);
      const int e = exponent_bound(seg);
      if (e != kAllZero) {
        range_[s] = std::max(range_[s], e);
        range_[S + s] = std::max(range_[S + s], e >= kNotFinite ? kAllZero : -e);
      }
      const int grid = !grid_.empty() ? grid_[s] : (e >= kNotFinite ? e : e + spread_);
      add_on_grid(seg, grid, static_cast<long>(micro_batches_),
                  {sums_.data() + (is_loss ? G + kLoss : slots[s].offset), seg.size()});
    }
  }

  bool finish(DenseLayers<float>& layers, BatchTotals& t) override {
    const auto& slots = layers.slots();
    const std::size_t G = layers.all_gradients().size(), S = slots.size() + 1;
    if (grid_.empty()) {
      comm_.max(std::span<int>(range_));
      bool apart = false;  // some segment's micro-batches lie too far apart for their own grids
      for (std::size_t s = 0; s < S; ++s)
        apart = apart || (range_[s] != kAllZero && range_[s] < kNotFinite && range_[s] + range_[S + s] > spread_);
      if (apart) {
        grid_.assign(range_.begin(), range_.begin() + static_cast<std::ptrdiff_t>(S));
        return false;
      }
    }
    grid_.clear();
    sums_[G + kCorrect] = static_cast<double>(t.correct);
    sums_[G + kStop] = t.stop ? 1.0 : 0.0;
    comm_.sum(std::span<double>(sums_));
    const std::span<float> g = layers.all_gradients();
    for (std::size_t i = 0; i < G; ++i) g[i] = static_cast<float>(sums_[i]);
    t = {sums_[G + kLoss], static_cast<std::size_t>(sums_[G + kCorrect]), sums_[G + kStop] > 0};
    return true;
  }

 private:
  static constexpr std::size_t kLoss = 0, kCorrect = 1, kStop = 2, kStats = 3;

  Comm& comm_;
  std::size_t m_;
  int spread_;
  std::size_t micro_batches_ = 0;
  std::vector<int> range_, grid_;
  std::vector<double> sums_;  // the gradient buffer's sums on the grid, then kStats
};

}  // namespace

std::unique_ptr<Reducer> make_reducer(const Recipe& recipe, const Sharing& sharing) {
  const Reduction how = reduction(recipe);
  if (!sharing.comm || (how == Reduction::ordered && sharing.comm->size() == 1)) return std::make_unique<Alone>();
  if (how == Reduction::ordered) return std::make_unique<Ordered>(*sharing.comm);
  return std::make_unique<Exact>(*sharing.comm, static_cast<std::size_t>(recipe.micro_batch), sharing.exact_spread);
}

}  // namespace digitnet
