#pragma once
// Bytes the server may hold for requests at once (bodies being received, images being decoded),
// shared by all connections, so that many large requests together cannot grow memory past it.
#include <atomic>
#include <cstddef>
#include <utility>

namespace digitnet::cli {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::size_t bytes) : limit_(bytes) {}
  std::size_t limit() const { return limit_; }
  std::size_t used() const { return used_.load(); }

  // Takes n bytes if they fit; false (nothing taken) if not.
  bool take(std::size_t n) {
    std::size_t now = used_.load();
    do {
      if (n > limit_ - now) return false;
    } while (!used_.compare_exchange_weak(now, now + n));
    return true;
  }
  void give_back(std::size_t n) { used_.fetch_sub(n); }

 private:
  std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// The bytes one request holds of a budget, given back when it ends.
class BudgetShare {
 public:
  explicit BudgetShare(MemoryBudget& budget) : budget_(&budget) {}
  BudgetShare(BudgetShare&& o) noexcept : budget_(o.budget_), n_(std::exchange(o.n_, 0)) {}
  BudgetShare& operator=(BudgetShare&&) = delete;
  ~BudgetShare() { budget_->give_back(n_); }
  // n more bytes if they fit in the budget; false (nothing taken) if not.
  bool grow(std::size_t n) {
    if (!budget_->take(n)) return false;
    n_ += n;
    return true;
  }
  std::size_t bytes() const { return n_; }
  void release() { budget_->give_back(std::exchange(n_, 0)); }

 private:
  MemoryBudget* budget_;
  std::size_t n_ = 0;
};

}  // namespace digitnet::cli
